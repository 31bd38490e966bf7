// PhaseQuant: the sector of every boundary and special value, the per-axis scales, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "quant/complex_repack.h"
#include "quant/packed_complex.h"
#include "quant/phase_quant.h"

namespace tern::quant {
namespace {

constexpr uint8_t kP1 = 0, kPi = 1, kM1 = 2, kMi = 3;

TEST(PhaseQuant, SectorBoundariesFollowTheHalfOpenAngles) {
    EXPECT_EQ(phase_code(1.0f, 0.0f), kP1);
    EXPECT_EQ(phase_code(0.0f, 1.0f), kPi);
    EXPECT_EQ(phase_code(-1.0f, 0.0f), kM1);
    EXPECT_EQ(phase_code(0.0f, -1.0f), kMi);
    // phi = pi/4 starts +i; -pi/4 belongs to +1; 3pi/4 to -1; -3pi/4 to -i.
    EXPECT_EQ(phase_code(2.0f, 2.0f), kPi);
    EXPECT_EQ(phase_code(2.0f, -2.0f), kP1);
    EXPECT_EQ(phase_code(-2.0f, 2.0f), kM1);
    EXPECT_EQ(phase_code(-2.0f, -2.0f), kMi);
    // Just off the diagonals.
    EXPECT_EQ(phase_code(2.0f, std::nextafter(2.0f, 0.0f)), kP1);
    EXPECT_EQ(phase_code(std::nextafter(2.0f, 0.0f), 2.0f), kPi);
    EXPECT_EQ(phase_code(-2.0f, std::nextafter(-2.0f, 0.0f)), kM1);
    EXPECT_EQ(phase_code(std::nextafter(-2.0f, 0.0f), -2.0f), kMi);
    // phi = pi (im = +0) and -pi (im = -0) are both -1.
    EXPECT_EQ(phase_code(-1.0f, -0.0f), kM1);
    // Zero is +1 (atan2(0, 0) = 0) unless re is -0.0 (atan2(+-0, -0) = +-pi).
    EXPECT_EQ(phase_code(0.0f, 0.0f), kP1);
    EXPECT_EQ(phase_code(0.0f, -0.0f), kP1);
    EXPECT_EQ(phase_code(-0.0f, 0.0f), kM1);
    EXPECT_EQ(phase_code(-0.0f, -0.0f), kM1);
}

// Away from the exact diagonals the comparisons agree with the angle rule.
TEST(PhaseQuant, AgreesWithTheAngleRuleOffTheDiagonals) {
    std::mt19937 rng(7);
    std::normal_distribution<float> dist;
    const double q = std::numbers::pi / 4;
    for (int i = 0; i < 100000; ++i) {
        const float re = dist(rng), im = dist(rng);
        if (std::fabs(std::fabs(re) - std::fabs(im)) < 1e-6f) continue;
        const double phi = std::atan2(static_cast<double>(im), static_cast<double>(re));
        const uint8_t expected = (phi >= -q && phi < q) ? kP1 : (phi >= q && phi < 3 * q) ? kPi : (phi >= -3 * q && phi < -q) ? kMi : kM1;
        ASSERT_EQ(phase_code(re, im), expected) << re << " + " << im << "i";
    }
}

TEST(PhaseQuant, ScalesAreMeanMagnitudesPerAxis) {
    const std::vector<float> re = {3.0f, -1.0f, 0.5f, 0.25f, -4.0f};
    const std::vector<float> im = {1.0f, 0.5f, 2.0f, -1.0f, -1.0f};
    const Result<PhaseQuantized> q = phase_quantize(re, im, kIfairyMinScale);
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q.value().codes, (std::vector<uint8_t>{kP1, kM1, kPi, kMi, kM1}));
    EXPECT_EQ(q.value().scale_re, static_cast<float>((3.0 + 1.0 + 4.0) / 3));
    EXPECT_EQ(q.value().scale_im, static_cast<float>((2.0 + 1.0) / 2));
}

TEST(PhaseQuant, EmptyAxisGetsTheMinimumScale) {
    const std::vector<float> re = {1.0f, 2.0f}, im = {0.0f, 0.5f};
    const Result<PhaseQuantized> ifairy = phase_quantize(re, im, kIfairyMinScale);
    ASSERT_TRUE(ifairy.ok());
    EXPECT_EQ(ifairy.value().scale_re, 1.5f);
    EXPECT_EQ(ifairy.value().scale_im, kIfairyMinScale);
    EXPECT_EQ(phase_quantize(re, im, kFairy2iMinScale).value().scale_im, kFairy2iMinScale);
}

TEST(PhaseQuant, RejectsBadInput) {
    const std::vector<float> two = {1.0f, 2.0f}, three = {1.0f, 2.0f, 3.0f};
    EXPECT_EQ(phase_quantize(two, three, 1e-5f).error().message(), "real part has 2 values, imaginary part 3");
    EXPECT_EQ(phase_quantize({}, {}, 1e-5f).error().message(), "complex tensor is empty");
    const std::vector<float> nan = {1.0f, std::numeric_limits<float>::quiet_NaN()};
    EXPECT_EQ(phase_quantize(two, nan, 1e-5f).error().message(), "weight 1 is not finite (re 2, im nan)");
    const std::vector<float> re = {1.0f, 1.0f, 1.0f, std::numeric_limits<float>::infinity()};
    const std::vector<float> im(4, 0.0f);
    EXPECT_EQ(phase_quantize_matrix(re, im, 2, 2, 1e-5f).error().message(),
              "weight at row 1 column 1 is not finite (re inf, im 0)");
}

TEST(PhaseQuant, MatrixKeepsCodesAndScales) {
    std::mt19937 rng(3);
    std::normal_distribution<float> dist;
    const size_t rows = 5, cols = 300;
    std::vector<float> re(rows * cols), im(rows * cols);
    for (float& v : re) v = dist(rng);
    for (float& v : im) v = dist(rng);
    const PhaseQuantized q = phase_quantize(re, im, kIfairyMinScale).value();
    const Result<PackedComplex> packed = phase_quantize_matrix(re, im, rows, cols, kIfairyMinScale);
    ASSERT_TRUE(packed.ok());
    EXPECT_EQ(packed.value().scale_re, q.scale_re);
    EXPECT_EQ(packed.value().scale_im, q.scale_im);
    for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) ASSERT_EQ(packed_complex_code(packed.value(), r, c), q.codes[r * cols + c]);
}

TEST(TernC2, EncodesAndRepacksRowMajorCodes) {
    const size_t rows = 3, cols = 8;
    std::vector<uint8_t> codes(rows * cols);
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>((i * 7 + i / 5) % 4);
    const std::vector<uint8_t> bytes = encode_tern_c2(codes, rows, cols);
    ASSERT_EQ(bytes.size(), 6u);
    EXPECT_EQ(bytes[0], static_cast<uint8_t>(codes[0] | codes[1] << 2 | codes[2] << 4 | codes[3] << 6));
    const Result<PackedComplex> packed =
        repack_tern_c2(std::as_bytes(std::span(bytes)), rows, cols, 0.5f, 0.25f);
    ASSERT_TRUE(packed.ok());
    for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) EXPECT_EQ(packed_complex_code(packed.value(), r, c), codes[r * cols + c]);
    EXPECT_EQ(repack_tern_c2(std::as_bytes(std::span(bytes)), rows, 6, 0.5f, 0.25f).error().message(),
              "TERN_C2 rows of 6 codes are not a multiple of 4");
    EXPECT_EQ(repack_tern_c2(std::as_bytes(std::span(bytes)).first(5), rows, cols, 0.5f, 0.25f).error().message(),
              "TERN_C2 data is 5 bytes, expected 6 for 3x8");
}

}  // namespace
}  // namespace tern::quant

// The complex {±1, ±i} packing: codes survive pack_complex and read back through
// packed_complex_code (padding reads as +1), sign_bias counts what the multiplication-free
// kernel needs, and bad shapes, codes, scales and source errors are reported.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "quant/packed_complex.h"

namespace tern::quant {
namespace {

Result<PackedComplex> pack(const std::vector<uint8_t>& codes, size_t rows, size_t cols, float scale_re = 0.5f,
                           float scale_im = 2.0f) {
    return pack_complex(rows, cols, scale_re, scale_im, [&](size_t r, std::span<uint8_t> out) -> Status {
        std::memcpy(out.data(), codes.data() + r * cols, cols);
        return {};
    });
}

TEST(PackedComplex, CodesRoundTripAndPaddingIsPlusOne) {
    for (auto [rows, cols] : {std::pair<size_t, size_t>{5, 1000}, {4, 256}, {7, 4099}, {1, 1}, {3, 257}}) {
        SCOPED_TRACE(testing::Message() << rows << " x " << cols);
        std::mt19937 rng(static_cast<uint32_t>(rows * cols));
        std::vector<uint8_t> codes(rows * cols);
        for (uint8_t& c : codes) c = static_cast<uint8_t>(rng() % 4);
        auto packed = pack(codes, rows, cols);
        ASSERT_TRUE(packed.ok()) << packed.error().message();
        const PackedComplex& m = packed.value();
        EXPECT_EQ(m.rows, rows);
        EXPECT_EQ(m.cols, cols);
        EXPECT_EQ(m.rows_padded % kRowTile, 0u);
        EXPECT_LT(m.rows_padded - rows, kRowTile);
        EXPECT_EQ(m.cols_padded % kChunkCols, 0u);
        EXPECT_LT(m.cols_padded - cols, kChunkCols);
        EXPECT_EQ(m.codes.size(), m.rows_padded * m.cols_padded / 4);
        EXPECT_EQ(m.sign_bias.size(), 2 * m.rows_padded);
        EXPECT_EQ(m.weight_bytes(), m.codes.size_bytes() + m.sign_bias.size_bytes());
        EXPECT_EQ(m.scale_re, 0.5f);
        EXPECT_EQ(m.scale_im, 2.0f);
        for (size_t r = 0; r < m.rows_padded; ++r) {
            for (size_t c = 0; c < m.cols_padded; ++c) {
                const uint8_t want = r < rows && c < cols ? codes[r * cols + c] : 0;
                ASSERT_EQ(packed_complex_code(m, r, c), want) << "row " << r << " col " << c;
            }
        }
    }
}

TEST(PackedComplex, CodesMapToTheirUnitFactors) {
    // code: +1, +i, -1, -i as P (real factor) and Q (imaginary factor).
    EXPECT_EQ(complex_code_re(0), 1);
    EXPECT_EQ(complex_code_im(0), 0);
    EXPECT_EQ(complex_code_re(1), 0);
    EXPECT_EQ(complex_code_im(1), 1);
    EXPECT_EQ(complex_code_re(2), -1);
    EXPECT_EQ(complex_code_im(2), 0);
    EXPECT_EQ(complex_code_re(3), 0);
    EXPECT_EQ(complex_code_im(3), -1);
}

TEST(PackedComplex, SignBiasCountsEveryPaddedColumn) {
    // Row 0: +1, -1, +i; row 1: -i, -i, -1. 256 padded columns, padding codes are +1.
    const std::vector<uint8_t> codes = {0, 2, 1, 3, 3, 2};
    auto packed = pack(codes, 2, 3);
    ASSERT_TRUE(packed.ok());
    const PackedComplex& m = packed.value();
    ASSERT_EQ(m.sign_bias.size(), 8u);
    EXPECT_EQ(m.sign_bias[0], 128u * (1 + 253) + 127u * 1);   // n(+1) = 1 + 253 padding, n(-1) = 1
    EXPECT_EQ(m.sign_bias[1], 128u * 1);                      // n(+i) = 1
    EXPECT_EQ(m.sign_bias[2], 128u * 253 + 127u * 1);         // n(+1) = 253 padding, n(-1) = 1
    EXPECT_EQ(m.sign_bias[3], 127u * 2);                      // n(-i) = 2
    for (size_t r = 2; r < 4; ++r) {                           // padding rows: all +1
        EXPECT_EQ(m.sign_bias[2 * r], 128u * 256);
        EXPECT_EQ(m.sign_bias[2 * r + 1], 0u);
    }
}

TEST(PackedComplex, RefusesEmptyShapes) {
    for (auto [rows, cols] : {std::pair<size_t, size_t>{0, 5}, {5, 0}, {0, 0}}) {
        auto m = pack({}, rows, cols);
        ASSERT_FALSE(m.ok());
        EXPECT_NE(m.error().message().find("is empty"), std::string::npos) << m.error().message();
    }
    auto wide = pack_complex(1, kMaxPackedCols + 1, 1.0f, 1.0f, [](size_t, std::span<uint8_t>) -> Status { return {}; });
    ASSERT_FALSE(wide.ok());
    EXPECT_NE(wide.error().message().find("columns"), std::string::npos) << wide.error().message();
}

TEST(PackedComplex, RefusesTheFirstCodeAboveThree) {
    std::vector<uint8_t> codes(3 * 300, 1);
    codes[1 * 300 + 201] = 4;
    codes[1 * 300 + 250] = 255;   // later in the same row: not the one reported
    auto m = pack(codes, 3, 300);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().message(), "row 1 column 201: code 4 is not 0..3");
}

TEST(PackedComplex, RefusesScalesThatAreNotFiniteAndPositive) {
    const std::vector<uint8_t> codes(4, 0);
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    for (const float bad : {0.0f, -0.0f, -1.0f, nan, inf, -inf}) {
        for (const bool real_axis : {true, false}) {
            auto m = real_axis ? pack(codes, 2, 2, bad, 1.0f) : pack(codes, 2, 2, 1.0f, bad);
            ASSERT_FALSE(m.ok()) << bad;
            EXPECT_NE(m.error().message().find("not finite and positive"), std::string::npos) << m.error().message();
        }
    }
}

TEST(PackedComplex, PassesTheSourceErrorThrough) {
    size_t calls = 0;
    auto m = pack_complex(5, 10, 1.0f, 1.0f, [&](size_t row, std::span<uint8_t>) -> Status {
        ++calls;
        if (row == 2) return Error("tensor 'w': row 2 is unreadable");
        return {};
    });
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().message(), "tensor 'w': row 2 is unreadable");
    EXPECT_EQ(calls, 3u);   // rows are read in order and reading stops at the error
}

}  // namespace
}  // namespace tern::quant

// Calibrated ternarisation: with identity statistics the row fit is the threshold rule's own
// scale; with correlated inputs the row fit loses less output energy than the uncalibrated
// rule, and GPTQ's error feedback less than the row fit; multipliers are fp16 numbers.
#include "quant/calibrated_ternary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/float16.h"
#include "quant/ternary_repack.h"
#include "testing/test_files.h"

namespace tern::quant {
namespace {

constexpr size_t kRows = 24, kCols = 64, kTokens = 400;

// Inputs whose columns share a few common factors (as real activations do), and their Gram matrix.
std::vector<double> correlated_gram() {
    const std::vector<float> factors = testing::random_floats(kTokens * 4, 7);
    const std::vector<float> mixing = testing::random_floats(4 * kCols, 8);
    const std::vector<float> noise = testing::random_floats(kTokens * kCols, 9);
    std::vector<double> x(kTokens * kCols);
    for (size_t n = 0; n < kTokens; ++n)
        for (size_t c = 0; c < kCols; ++c) {
            double v = 0.2 * noise[n * kCols + c];
            for (size_t f = 0; f < 4; ++f) v += factors[n * 4 + f] * mixing[f * kCols + c];
            x[n * kCols + c] = v;
        }
    std::vector<double> gram(kCols * kCols, 0.0);
    for (size_t n = 0; n < kTokens; ++n)
        for (size_t i = 0; i < kCols; ++i)
            for (size_t j = 0; j < kCols; ++j) gram[i * kCols + j] += x[n * kCols + i] * x[n * kCols + j];
    return gram;
}

TEST(CalibratedTernary, WithIdentityStatisticsTheRowFitIsTheThresholdScale) {
    const std::vector<float> w = testing::random_floats(kRows * kCols, 3);
    std::vector<double> identity(kCols * kCols, 0.0);
    for (size_t i = 0; i < kCols; ++i) identity[i * kCols + i] = 1.0;
    ThreadPool pool(2);
    auto fit = ternarize_calibrated(w, kRows, kCols, identity, CalibratedMethod::kRowFit, pool);
    ASSERT_TRUE(fit.ok()) << fit.error().message();
    for (size_t r = 0; r < kRows; ++r) {
        double sum = 0, kept = 0;
        size_t n = 0;
        for (size_t c = 0; c < kCols; ++c) sum += std::fabs(w[r * kCols + c]);
        for (size_t c = 0; c < kCols; ++c) {
            const float v = w[r * kCols + c];
            const int expected = std::fabs(v) > 0.5 * sum / kCols ? (v > 0 ? 1 : -1) : 0;
            ASSERT_EQ(packed_ternary_value(fit.value(), r, c), expected) << r << ", " << c;
            if (expected != 0) kept += std::fabs(v), ++n;
        }
        EXPECT_EQ(fit.value().row_scale.data()[r], fp16_to_fp32(fp32_to_fp16(static_cast<float>(kept / n)))) << r;
    }
}

TEST(CalibratedTernary, CalibrationLowersTheOutputError) {
    const std::vector<float> w = testing::random_floats(kRows * kCols, 4);
    const std::vector<double> gram = correlated_gram();
    ThreadPool pool(2);
    auto plain = ternarize_threshold(w, kRows, kCols);
    auto fit = ternarize_calibrated(w, kRows, kCols, gram, CalibratedMethod::kRowFit, pool);
    auto gptq = ternarize_calibrated(w, kRows, kCols, gram, CalibratedMethod::kGptq, pool);
    ASSERT_TRUE(plain.ok() && fit.ok() && gptq.ok());
    const double e_plain = relative_output_error(w, plain.value(), gram);
    const double e_fit = relative_output_error(w, fit.value(), gram);
    const double e_gptq = relative_output_error(w, gptq.value(), gram);
    EXPECT_LT(e_fit, e_plain);
    EXPECT_LT(e_gptq, 0.8 * e_fit);
    for (size_t r = 0; r < kRows; ++r) {
        const float m = gptq.value().row_scale.data()[r];
        EXPECT_EQ(m, fp16_to_fp32(fp32_to_fp16(m)));
        EXPECT_GT(m, 0.0f);
    }
}

TEST(CalibratedTernary, RefusesMismatchedSizes) {
    const std::vector<float> w(kRows * kCols, 0.5f);
    const std::vector<double> gram(kCols * (kCols - 1), 0.0);
    ThreadPool pool(1);
    auto bad = ternarize_calibrated(w, kRows, kCols, gram, CalibratedMethod::kGptq, pool);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message(), "Gram matrix of 4032 values for 64 columns");
}

}  // namespace
}  // namespace tern::quant

// abs_max against the plain one-chain fmax rule, on every length around the 16-lane width.
#include "quant/abs_max.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "testing/test_files.h"

namespace tern::quant {
namespace {

float abs_max_by_the_rule(const float* x, size_t n) {
    float amax = 0.0f;
    for (size_t k = 0; k < n; ++k) amax = std::fmax(amax, std::fabs(x[k]));
    return amax;
}

TEST(AbsMax, MatchesTheOneChainRuleOnEveryLength) {
    const std::vector<float> x = testing::random_floats(100, 7);
    for (size_t n = 0; n <= x.size(); ++n)
        for (size_t offset : {size_t{0}, size_t{3}}) {
            if (offset + n > x.size()) continue;
            ASSERT_EQ(abs_max(x.data() + offset, n), abs_max_by_the_rule(x.data() + offset, n)) << n << " from " << offset;
        }
}

TEST(AbsMax, SkipsNaNAndTakesMagnitudes) {
    std::vector<float> x(37, 1.0f);
    x[5] = NAN;
    x[20] = -7.5f;   // in the second 16-lane step
    x[36] = 2.0f;    // in the tail
    EXPECT_EQ(abs_max(x.data(), x.size()), 7.5f);
    EXPECT_EQ(abs_max(x.data(), 0), 0.0f);
    const float only_nan = NAN;
    EXPECT_EQ(abs_max(&only_nan, 1), 0.0f);
    const float negative_zero = -0.0f;
    EXPECT_FALSE(std::signbit(abs_max(&negative_zero, 1)));
}

}  // namespace
}  // namespace tern::quant

#include "quant/int8_activations.h"

#include <gtest/gtest.h>

#include <vector>

namespace tern::quant {
namespace {

TEST(Int8Activations, AbsmaxScalingRoundsHalfToEven) {
    // max|x| = 127 gives a_s = 1, so x * a_s is x and the rounding of halves is visible.
    const std::vector<float> x = {2.5f, 3.5f, -2.5f, -127.0f, 0.49f, 126.5f, 0.0f};
    Int8Activations acts;
    quantize_activations(x.data(), 1, x.size(), x.size(), acts);
    EXPECT_EQ(acts.cols_padded, 256u);
    const std::vector<int> want = {2, 4, -2, -127, 0, 126, 0};
    for (size_t k = 0; k < want.size(); ++k) EXPECT_EQ(acts.row(0)[k], want[k]) << k;
    for (size_t k = want.size(); k < 256; ++k) ASSERT_EQ(acts.row(0)[k], 0);
    EXPECT_EQ(acts.sum[0], 2 + 4 - 2 - 127 + 0 + 126);
    EXPECT_EQ(acts.scale[0], 1.0f);
}

TEST(Int8Activations, PerTokenScalesAndStride) {
    // Two tokens in a buffer with stride 5; the second is scaled by 0.5.
    const std::vector<float> x = {1.0f, -0.5f, 0.25f, 99.0f, 99.0f, 0.5f, -0.25f, 0.125f};
    Int8Activations acts;
    quantize_activations(x.data(), 2, 3, 5, acts);
    EXPECT_EQ(acts.row(0)[0], 127);
    EXPECT_EQ(acts.row(0)[1], -64);   // -63.5 -> -64 (even)
    EXPECT_EQ(acts.row(0)[2], 32);    // 31.75
    EXPECT_EQ(acts.row(1)[0], 127);
    EXPECT_EQ(acts.row(1)[1], -64);
    EXPECT_EQ(acts.scale[0], 1.0f / 127.0f);
    EXPECT_EQ(acts.scale[1], 1.0f / (127.0f / 0.5f));
}

TEST(Int8Activations, ZeroRowUsesTheEpsilonFloor) {
    const std::vector<float> x(300, 0.0f);
    Int8Activations acts;
    quantize_activations(x.data(), 1, x.size(), x.size(), acts);
    EXPECT_EQ(acts.cols_padded, 512u);
    EXPECT_EQ(acts.sum[0], 0);
    EXPECT_EQ(acts.scale[0], 1.0f / (127.0f / 1e-5f));
}

TEST(Int8Activations, ReshapeReusesBuffers) {
    Int8Activations acts;
    reshape_activations(acts, 4, 1000);
    const int8_t* before = acts.values.data();
    reshape_activations(acts, 2, 700);
    EXPECT_EQ(acts.values.data(), before);
    EXPECT_EQ(acts.n_tokens, 2u);
    EXPECT_EQ(acts.cols_padded, 768u);
}

}  // namespace
}  // namespace tern::quant

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "sampling/sampler.h"

namespace tern::sampling {
namespace {

TEST(Sampler, GreedyTakesTheFirstMaximum) {
    Sampler s({.temperature = 0.0f});
    const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
    EXPECT_EQ(s.sample(logits), 1);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
    std::vector<float> logits(50);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
    auto draw = [&](uint64_t seed) {
        Sampler s({.temperature = 1.5f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = seed});
        std::vector<int32_t> ids;
        for (int i = 0; i < 64; ++i) ids.push_back(s.sample(logits));
        return ids;
    };
    EXPECT_EQ(draw(5), draw(5));
    EXPECT_NE(draw(5), draw(6));
}

TEST(Sampler, FollowsTheSoftmaxDistribution) {
    // p = 3/4 and 1/4 at temperature 1.
    const std::vector<float> logits = {std::log(3.0f), 0.0f};
    Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 1});
    int first = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) first += s.sample(logits) == 0;
    EXPECT_NEAR(first / static_cast<double>(n), 0.75, 0.015);
}

TEST(Sampler, CutsRemoveTheTail) {
    // Probabilities 0.5, 0.3, 0.15, 0.05.
    const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
    auto seen = [&](SamplerOptions o) {
        Sampler s(o);
        std::map<int32_t, int> counts;
        for (int i = 0; i < 4000; ++i) ++counts[s.sample(logits)];
        return counts;
    };
    EXPECT_EQ(seen({.temperature = 1.0f, .top_k = 2, .top_p = 1.0f, .min_p = 0.0f, .seed = 3}).size(), 2u);
    EXPECT_EQ(seen({.temperature = 1.0f, .top_k = 0, .top_p = 0.7f, .min_p = 0.0f, .seed = 3}).size(), 2u);
    EXPECT_EQ(seen({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.2f, .seed = 3}).size(), 3u);
    EXPECT_EQ(seen({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 3}).size(), 4u);
    EXPECT_EQ(seen({.temperature = 5.0f, .top_k = 1, .top_p = 1.0f, .min_p = 0.0f, .seed = 3}),
              (std::map<int32_t, int>{{0, 4000}}));
}

}  // namespace
}  // namespace tern::sampling

namespace tern::sampling {
namespace {

TEST(Sampler, PenaltiesFollowLlamaCpp) {
    // Token 0 leads; it appeared twice recently, token 1 once.
    const std::vector<float> logits = {2.0f, 1.5f, -1.0f};
    const std::vector<int32_t> recent = {0, 1, 0};
    Sampler greedy({.temperature = 0.0f});
    EXPECT_EQ(greedy.sample(logits, recent), 0);
    Sampler repeat({.temperature = 0.0f, .repeat_penalty = 2.0f});   // 2/2 = 1.0 < 1.5/2? no: 1.0 vs 0.75
    EXPECT_EQ(repeat.sample(logits, recent), 0);
    Sampler frequency({.temperature = 0.0f, .frequency_penalty = 0.5f});   // 2 - 1.0 = 1.0 < 1.5 - 0.5 = 1.0: tie -> 0
    EXPECT_EQ(frequency.sample(logits, recent), 0);
    Sampler presence({.temperature = 0.0f, .frequency_penalty = 0.5f, .presence_penalty = 0.1f});   // 0.9 < 0.9? tie
    EXPECT_EQ(presence.sample(logits, recent), 0);
    Sampler strong({.temperature = 0.0f, .frequency_penalty = 1.0f});   // 0.0 vs 0.5 -> token 1
    EXPECT_EQ(strong.sample(logits, recent), 1);
    Sampler window({.temperature = 0.0f, .frequency_penalty = 1.0f, .penalty_last_n = 1});   // only the last 0 counts
    EXPECT_EQ(window.sample(logits, recent), 1);   // 2 - 1 = 1.0 < 1.5
    Sampler negative({.temperature = 0.0f, .repeat_penalty = 4.0f});
    EXPECT_EQ(negative.sample(std::vector<float>{-0.5f, -1.0f}, std::vector<int32_t>{0}), 1);   // -0.5 * 4 = -2
}

TEST(Sampler, LogitBiasAndTypical) {
    const std::vector<float> logits = {3.0f, 1.0f, 0.0f};
    Sampler biased({.temperature = 0.0f, .logit_bias = {{2, 10.0f}}});
    EXPECT_EQ(biased.sample(logits), 2);
    Sampler banned({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .logit_bias = {{0, -INFINITY}}, .seed = 2});
    for (int i = 0; i < 200; ++i) EXPECT_NE(banned.sample(logits), 0);
    // Typical-p keeps the token whose surprise is closest to the entropy first.
    std::vector<float> peaked = {5.0f, 0.0f, 0.0f, 0.0f};
    Sampler typical({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .typical_p = 0.01f, .seed = 4});
    for (int i = 0; i < 50; ++i) EXPECT_EQ(typical.sample(peaked), 0);
}

}  // namespace
}  // namespace tern::sampling

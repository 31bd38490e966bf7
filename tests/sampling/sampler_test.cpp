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

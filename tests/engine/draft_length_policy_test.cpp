// The speculative step's guess count follows measured costs and hold rates: all guesses when
// extra rows are nearly free and guesses hold, none when they keep failing (with a probe now
// and then), and every count asked for when not adaptive.
#include <gtest/gtest.h>

#include "engine/draft_length_policy.h"

namespace tern::engine {
namespace {

void record_step(DraftLengthPolicy& policy, size_t rows, double seconds, size_t checked, size_t held) {
    policy.time_step(rows, seconds);
    policy.count_guesses(checked, held);
}

TEST(DraftLengthPolicy, NotAdaptiveAlwaysAsksForTheLimit) {
    DraftLengthPolicy policy(false);
    EXPECT_EQ(policy.choose(5), 5u);
    EXPECT_EQ(policy.choose(40), DraftLengthPolicy::kMaxRows - 1);
}

TEST(DraftLengthPolicy, CheapRowsAndHoldingGuessesUseEveryGuess) {
    DraftLengthPolicy policy;
    EXPECT_EQ(policy.choose(8), 0u);   // a plain step is timed first
    record_step(policy, 1, 0.050, 0, 0);
    // Untimed longer steps are priced at a quarter of a plain step per row: at the prior 60 %
    // hold rate two guesses pay best.
    EXPECT_EQ(policy.choose(8), 2u);
    for (int i = 0; i < 20; ++i) record_step(policy, 9, 0.055, 8, 8);   // weight-bound: 9 rows cost 10 % more
    EXPECT_GT(policy.hold_rate(), 0.95);
    EXPECT_EQ(policy.choose(8), 8u);
    EXPECT_EQ(policy.choose(3), 3u);
}

TEST(DraftLengthPolicy, FailingGuessesSwitchDraftingOffWithARareProbe) {
    DraftLengthPolicy policy;
    record_step(policy, 1, 0.050, 0, 0);
    for (int i = 0; i < 30; ++i) record_step(policy, 5, 0.060, 4, 0);   // every first guess fails
    EXPECT_LT(policy.hold_rate(), 0.1);
    size_t probes = 0;
    for (int i = 0; i < 64; ++i) {
        const size_t k = policy.choose(4);
        EXPECT_LE(k, 1u);
        probes += k;
    }
    EXPECT_EQ(probes, 2u);   // one guess every 32 steps
}

// The server times a step only when one request decodes in it; guesses still count when
// several share the step.
TEST(DraftLengthPolicy, GuessesCountWithoutATimedStep) {
    DraftLengthPolicy policy;
    for (int i = 0; i < 30; ++i) policy.count_guesses(4, 0);
    EXPECT_LT(policy.hold_rate(), 0.1);
    for (int i = 0; i < 30; ++i) policy.count_guesses(4, 4);
    EXPECT_GT(policy.hold_rate(), 0.9);
    EXPECT_EQ(policy.choose(4), 0u);   // no step timed yet: none
}

TEST(DraftLengthPolicy, CostlyRowsNeedAHighHoldRate) {
    // Compute-bound: every row costs as much as the first. At a 60 % hold rate a step of two
    // rows yields 1.6 tokens for twice the time: not worth it.
    DraftLengthPolicy policy;
    record_step(policy, 1, 0.010, 0, 0);
    record_step(policy, 2, 0.020, 1, 1);
    record_step(policy, 2, 0.020, 1, 0);
    for (size_t rows = 3; rows <= 9; ++rows) record_step(policy, rows, 0.010 * rows, 1, 0);
    EXPECT_EQ(policy.choose(8), 0u);
}

}  // namespace
}  // namespace tern::engine

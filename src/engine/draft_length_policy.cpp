#include "engine/draft_length_policy.h"

#include <algorithm>

namespace tern::engine {
namespace {

constexpr size_t kProbeEvery = 32;   // steps without a guess before one guess is tried again
constexpr double kDecay = 0.9;       // of the guess statistics per step, so they follow the text
constexpr double kMinGain = 1.02;    // a longer step must promise this much more yield per second

}  // namespace

// Row counts not yet timed are assumed to cost what the largest timed smaller step costs, so
// each is tried once and then judged by what it really costs.
size_t DraftLengthPolicy::choose(size_t limit) {
    limit = std::min(limit, kMaxRows - 1);
    if (!adaptive_) return limit;
    if (step_seconds_[1] == 0) return 0;   // time a plain step first
    const double hold = hold_rate();
    double best_rate = 0, cost = step_seconds_[1], expected = 0, power = 1;
    size_t best = 0;
    for (size_t k = 0; k <= limit; ++k) {
        if (step_seconds_[k + 1] > 0) cost = step_seconds_[k + 1];
        expected += power;
        power *= hold;
        if (expected / cost > best_rate * kMinGain) {
            best_rate = expected / cost;
            best = k;
        }
    }
    if (best > 0) {
        steps_without_guess_ = 0;
        return best;
    }
    if (++steps_without_guess_ < kProbeEvery) return 0;
    steps_without_guess_ = 0;
    return std::min<size_t>(limit, 1);
}

void DraftLengthPolicy::record(size_t rows, double seconds, size_t checked, size_t held) {
    if (rows == 0 || rows > kMaxRows) return;
    double& mean = step_seconds_[rows];
    mean = mean == 0 ? seconds : 0.8 * mean + 0.2 * seconds;
    if (checked == 0) return;
    // Guesses are checked in order until one fails: `held` held, then one failed unless all
    // that were checked held (a step cut short by a length limit or an end token checks fewer).
    holds_ = holds_ * kDecay + static_cast<double>(held);
    trials_ = trials_ * kDecay + static_cast<double>(held + (held < checked ? 1 : 0));
}

}  // namespace tern::engine

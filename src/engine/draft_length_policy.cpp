#include "engine/draft_length_policy.h"

#include <algorithm>
#include <utility>

namespace tern::engine {
namespace {

constexpr size_t kProbeEvery = 32;   // steps without a guess before one guess is tried again
constexpr double kDecay = 0.9;       // of the guess statistics per step, so they follow the text
constexpr double kMinGain = 1.02;    // a longer step must promise this much more yield per second

}  // namespace

// A step of `rows` rows: its mean time when measured; otherwise interpolated between the
// nearest measured steps, or extrapolated beyond the largest one with the slope of the two
// largest (with one measured step, a quarter of a plain step per row: a guess that pays at
// that price is tried, and its real price then decides).
double DraftLengthPolicy::estimated_seconds(size_t rows) const {
    if (step_seconds_[rows] > 0) return step_seconds_[rows];
    size_t below = 1, below2 = 0, above = 0;
    for (size_t r = 2; r < rows; ++r)
        if (step_seconds_[r] > 0) below2 = std::exchange(below, r);
    for (size_t r = rows + 1; r <= kMaxRows && above == 0; ++r)
        if (step_seconds_[r] > 0) above = r;
    const double t_below = step_seconds_[below];
    double slope = 0.25 * step_seconds_[1];
    if (above != 0) {
        slope = (step_seconds_[above] - t_below) / static_cast<double>(above - below);
    } else if (below2 != 0 || below > 1) {
        const size_t from = below2 != 0 ? below2 : 1;
        slope = std::max(0.0, (t_below - step_seconds_[from]) / static_cast<double>(below - from));
    }
    return t_below + slope * static_cast<double>(rows - below);
}

size_t DraftLengthPolicy::choose(size_t limit) {
    limit = std::min(limit, kMaxRows - 1);
    if (!adaptive_) return limit;
    if (step_seconds_[1] == 0) return 0;   // time a plain step first
    const double hold = hold_rate();
    double best_rate = 0, expected = 0, power = 1;
    size_t best = 0;
    for (size_t k = 0; k <= limit; ++k) {
        expected += power;
        power *= hold;
        const double rate = expected / estimated_seconds(k + 1);
        if (rate > best_rate * kMinGain) {
            best_rate = rate;
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

void DraftLengthPolicy::time_step(size_t rows, double seconds) {
    if (rows == 0 || rows > kMaxRows) return;
    double& mean = step_seconds_[rows];
    mean = mean == 0 ? seconds : 0.8 * mean + 0.2 * seconds;
}

void DraftLengthPolicy::count_guesses(size_t checked, size_t held) {
    if (checked == 0) return;
    // Guesses are checked in order until one fails: `held` held, then one failed unless all
    // that were checked held (a step cut short by a length limit or an end token checks fewer).
    holds_ = holds_ * kDecay + static_cast<double>(held);
    trials_ = trials_ * kDecay + static_cast<double>(held + (held < checked ? 1 : 0));
}

}  // namespace tern::engine

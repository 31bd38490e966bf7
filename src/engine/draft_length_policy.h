// How many guesses to check in the next speculative step. It measures what a step of n rows
// costs here and how often guesses hold, and picks the count with the highest expected yield
// per second: k guesses that each hold with chance a yield 1 + a + ... + a^k tokens for a step
// of k + 1 rows. Steps of a size not yet timed are estimated from those that were. On free
// text, where guesses keep failing, that is none, with a rare one-guess probe to notice when
// they start holding again.
#pragma once

#include <array>
#include <cstddef>

namespace tern::engine {

class DraftLengthPolicy {
public:
    static constexpr size_t kMaxRows = 17;   // one new token + up to 16 guesses

    explicit DraftLengthPolicy(bool adaptive = true) : adaptive_(adaptive) {}

    // Guesses to ask for, at most `limit` (< kMaxRows); not adaptive: always `limit`.
    size_t choose(size_t limit);
    // A step of `rows` rows (1 ... kMaxRows) took `seconds`.
    void time_step(size_t rows, double seconds);
    // Of a step's `checked` guesses the first `held` held.
    void count_guesses(size_t checked, size_t held);
    double hold_rate() const { return holds_ / trials_; }

private:
    double estimated_seconds(size_t rows) const;

    bool adaptive_;
    std::array<double, kMaxRows + 1> step_seconds_{};   // mean by rows; 0: not measured
    double holds_ = 1.2, trials_ = 2.0;                  // decayed counts; the prior says 60 %
    size_t steps_without_guess_ = 0;
};

}  // namespace tern::engine

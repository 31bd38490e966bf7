#include "engine/speculative_generator.h"

#include <algorithm>
#include <chrono>

#include "core/str_cat.h"

namespace tern::engine {

SpeculativeGenerator::SpeculativeGenerator(InferenceSession& session, sampling::Sampler& sampler, Drafter* drafter,
                                           std::span<const int32_t> context, size_t penalty_from,
                                           SpeculativeOptions options)
    : session_(session),
      sampler_(sampler),
      drafter_(drafter),
      options_(std::move(options)),
      sequence_(context.begin(), context.end()),
      penalty_from_(std::min(penalty_from, context.size())),
      policy_(options_.adaptive) {
    options_.max_draft = std::min(options_.max_draft, DraftLengthPolicy::kMaxRows - 1);
}

int32_t SpeculativeGenerator::sample_row(std::span<const float> logits) {
    return sampler_.sample(logits, std::span<const int32_t>(sequence_).subspan(penalty_from_));
}

Result<std::span<const int32_t>> SpeculativeGenerator::next(size_t max_tokens) {
    emitted_.clear();
    if (max_tokens == 0) return Error("next: max_tokens must be at least 1");
    if (!has_pending_) {   // the first token comes from the prompt's logits
        const int32_t token = sample_row(session_.last_logits());
        sequence_.push_back(token);
        emitted_.push_back(token);
        has_pending_ = true;
        ++stats_.emitted;
        return std::span<const int32_t>(emitted_);
    }
    if (session_.n_past() >= session_.n_ctx())
        return Error(str_cat("context full: ", session_.n_past(), " tokens fill n_ctx ", session_.n_ctx()));

    const size_t limit = std::min({options_.max_draft, session_.n_ctx() - session_.n_past() - 1, max_tokens - 1});
    guesses_.clear();
    if (drafter_ != nullptr && session_.can_rewind() && limit > 0) {
        if (const size_t want = policy_.choose(limit); want > 0) TERN_TRY(drafter_->draft(sequence_, want, guesses_));
        guesses_.resize(std::min(guesses_.size(), limit));
    }
    step_tokens_.assign(1, sequence_.back());
    step_tokens_.insert(step_tokens_.end(), guesses_.begin(), guesses_.end());

    const size_t before = session_.n_past();
    const auto start = std::chrono::steady_clock::now();
    TERN_TRY(session_.evaluate(step_tokens_, /*all_logits=*/!guesses_.empty()));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    for (size_t row = 0; row < step_tokens_.size(); ++row) {
        const int32_t token = sample_row(guesses_.empty() ? session_.last_logits() : session_.logits_row(row));
        sequence_.push_back(token);
        emitted_.push_back(token);
        if (emitted_.size() == max_tokens) break;
        if (options_.ends_generation && options_.ends_generation(token)) break;
        if (row == guesses_.size() || token != guesses_[row]) break;
    }
    // The cache keeps the step's first token and the guesses that were emitted before the last
    // emitted token; the last one is pending, as after a plain step.
    session_.truncate(before + emitted_.size());
    const size_t checked = std::min(guesses_.size(), emitted_.size());
    size_t held = 0;
    while (held < checked && emitted_[held] == guesses_[held]) ++held;
    policy_.time_step(step_tokens_.size(), seconds);
    policy_.count_guesses(checked, held);
    stats_.drafted += checked;
    stats_.accepted += held;
    ++stats_.steps;
    stats_.emitted += emitted_.size();
    return std::span<const int32_t>(emitted_);
}

Status SpeculativeGenerator::commit_last() {
    if (!has_pending_) return {};
    TERN_TRY(session_.evaluate(std::span(&sequence_.back(), 1)));
    has_pending_ = false;
    return {};
}

}  // namespace tern::engine

// Token generation with optional speculative decoding. Each step evaluates the newest token
// together with a drafter's guesses at what follows it, in one forward step (the weights are
// read once for all of them), then samples position by position while the guesses hold.
//
// Output is exactly plain decoding's, for any sampler settings and seed: every row's logits
// are bit-identical to those of a one-token step (the session computes per token), each
// emitted token is drawn by the same sampler from the same logits in the same order, and a
// guess is kept only when the draw equals it. For a deterministic guess d this is the standard
// acceptance rule (accept with probability p(d), else draw from p without d, renormalised), so
// the distribution is the target's; the rejected guesses' cache positions are forgotten.
//
// The number of guesses checked per step adapts (engine/draft_length_policy.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/draft_length_policy.h"
#include "engine/drafter.h"
#include "engine/inference_session.h"
#include "sampling/sampler.h"

namespace tern::engine {

struct SpeculativeOptions {
    size_t max_draft = 8;   // guesses checked per step at most (at most 16)
    bool adaptive = true;   // false: always check every guess the drafter gives
    // A token after which nothing more is generated (end of generation): a step stops there,
    // so no guess after it enters the cache. Null: none.
    std::function<bool(int32_t)> ends_generation = {};
};

struct SpeculativeStats {
    size_t steps = 0;            // forward steps of generation
    size_t drafted = 0;          // guesses checked
    size_t accepted = 0;         // guesses that held
    size_t emitted = 0;          // tokens generated
    double acceptance() const { return drafted > 0 ? static_cast<double>(accepted) / drafted : 0.0; }
};

class SpeculativeGenerator {
public:
    // Starts from a session whose slot 0 holds `context` with its last logits ready (the prompt
    // just evaluated). Penalties see context[penalty_from...] plus what is generated. The
    // session, sampler and drafter (null: plain decoding) must outlive this.
    SpeculativeGenerator(InferenceSession& session, sampling::Sampler& sampler, Drafter* drafter,
                         std::span<const int32_t> context, size_t penalty_from, SpeculativeOptions options = {});

    // The next 1..max_tokens tokens (max_tokens >= 1). Every token returned so far except the
    // last is in the session's cache. Errors: a full context, the engine's or the drafter's.
    Result<std::span<const int32_t>> next(size_t max_tokens);

    // Evaluates the token last returned into the cache, for a caller that goes on from it
    // (a chat reply cut at its length limit). Errors: a full context, the engine's.
    Status commit_last();

    // Whether the cache has room for the token last returned (next() needs it).
    bool context_full() const { return has_pending_ && session_.n_past() >= session_.n_ctx(); }
    const SpeculativeStats& stats() const { return stats_; }

private:
    int32_t sample_row(std::span<const float> logits);

    InferenceSession& session_;
    sampling::Sampler& sampler_;
    Drafter* drafter_;
    SpeculativeOptions options_;
    std::vector<int32_t> sequence_;   // context and every returned token
    size_t penalty_from_;
    bool has_pending_ = false;        // sequence_.back() is returned but not yet evaluated
    std::vector<int32_t> step_tokens_, guesses_, emitted_;
    SpeculativeStats stats_;
    DraftLengthPolicy policy_;
};

}  // namespace tern::engine

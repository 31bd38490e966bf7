// Perplexity in llama-perplexity's protocol: the token stream is cut into non-overlapping
// chunks of n_ctx tokens, each chunk starts a fresh context (its first token replaced by BOS
// when the vocabulary adds one), and only the second half of each chunk is scored, so every
// scored token has at least n_ctx/2 tokens of context.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/inference_session.h"

namespace tern::engine {

struct PerplexityResult {
    size_t chunks = 0;
    size_t scored_tokens = 0;
    double perplexity = 0;
    double uncertainty = 0;   // standard error of the estimate, in perplexity units
    std::vector<double> running;   // estimate after each chunk
};

// Chunks of n_ctx tokens a text of n_tokens scores: every whole one, at most max_chunks (0: no cap).
size_t perplexity_chunks(size_t n_tokens, size_t n_ctx, size_t max_chunks);

// `bos` < 0: keep each chunk's first token. Precondition: session context >= n_ctx >= 2.
Result<PerplexityResult> compute_perplexity(InferenceSession& session, std::span<const int32_t> tokens, size_t n_ctx,
                                            int32_t bos, size_t max_chunks,
                                            const std::function<void(const PerplexityResult&)>& on_chunk);

}  // namespace tern::engine

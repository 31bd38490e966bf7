#include "engine/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/str_cat.h"

namespace tern::engine {
namespace {

// -log softmax(logits)[target], computed in double.
double negative_log_likelihood(std::span<const float> logits, int32_t target) {
    const float max_logit = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float l : logits) sum += std::exp(static_cast<double>(l) - max_logit);
    return std::log(sum) - (static_cast<double>(logits[target]) - max_logit);
}

}  // namespace

size_t perplexity_chunks(size_t n_tokens, size_t n_ctx, size_t max_chunks) {
    const size_t whole = n_tokens / n_ctx;
    return max_chunks > 0 ? std::min(whole, max_chunks) : whole;
}

Result<PerplexityResult> compute_perplexity(InferenceSession& session, std::span<const int32_t> tokens, size_t n_ctx,
                                            int32_t bos, size_t max_chunks,
                                            const std::function<void(const PerplexityResult&)>& on_chunk) {
    if (n_ctx < 2) return Error(str_cat("context of ", n_ctx, " tokens is too short to score anything"));
    const size_t n_chunks = perplexity_chunks(tokens.size(), n_ctx, max_chunks);
    if (n_chunks == 0)
        return Error(str_cat("the text has ", tokens.size(), " tokens, fewer than one chunk of ", n_ctx));
    PerplexityResult result;
    double nll = 0, nll2 = 0;
    const size_t first = n_ctx / 2;
    std::vector<int32_t> chunk(n_ctx);
    for (size_t c = 0; c < n_chunks; ++c) {
        std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
        if (bos >= 0) chunk[0] = bos;
        session.truncate(0);
        TERN_TRY(session.evaluate(chunk, /*all_logits=*/true));
        const size_t n_vocab = session.logits().size() / n_ctx;
        for (size_t j = first; j + 1 < n_ctx; ++j) {
            const double v = negative_log_likelihood(session.logits().subspan(j * n_vocab, n_vocab),
                                                     tokens[c * n_ctx + j + 1]);
            nll += v;
            nll2 += v * v;
            ++result.scored_tokens;
        }
        result.chunks = c + 1;
        const double mean = nll / result.scored_tokens;
        result.perplexity = std::exp(mean);
        const double variance = nll2 / result.scored_tokens - mean * mean;
        result.uncertainty = result.scored_tokens > 1 && variance > 0
                                 ? result.perplexity * std::sqrt(variance / (result.scored_tokens - 1))
                                 : 0.0;
        result.running.push_back(result.perplexity);
        if (on_chunk) on_chunk(result);
    }
    return result;
}

}  // namespace tern::engine

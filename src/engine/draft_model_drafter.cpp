#include "engine/draft_model_drafter.h"

#include <algorithm>
#include <cmath>

#include "core/str_cat.h"

namespace tern::engine {
namespace {

// The most likely token and its probability under a softmax of `logits`.
std::pair<int32_t, float> most_likely(std::span<const float> logits) {
    const size_t best = static_cast<size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    double total = 0;
    for (float l : logits) total += std::exp(static_cast<double>(l) - logits[best]);
    return {static_cast<int32_t>(best), static_cast<float>(1.0 / total)};
}

}  // namespace

Status check_same_vocabulary(const LoadedModel& draft, const LoadedModel& target) {
    const size_t n_draft = draft.model.hp.n_vocab, n_target = target.model.hp.n_vocab;
    if (n_draft != n_target)
        return Error(str_cat("the draft model has ", n_draft, " tokens in its vocabulary, the model ", n_target,
                             "; they must share one vocabulary"));
    if (!draft.tokenizer || !target.tokenizer) return {};
    const auto& a = draft.tokenizer->vocab().tokens;
    const auto& b = target.tokenizer->vocab().tokens;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        if (a[i] != b[i])
            return Error(str_cat("token ", i, " is '", a[i], "' in the draft model and '", b[i],
                                 "' in the model; they must share one vocabulary"));
    return {};
}

DraftModelDrafter::DraftModelDrafter(const model::Model& draft_model, const kernels::KernelTable& table,
                                     ThreadPool& pool, size_t n_ctx, DraftModelOptions options)
    : session_(draft_model, table, pool, n_ctx), options_(options) {}

// Brings the cache to `context` and its last logits: keeps the longest common prefix, and
// evaluates at least the last token again so that its logits are fresh.
Status DraftModelDrafter::catch_up(std::span<const int32_t> context) {
    size_t common = 0;
    while (common < evaluated_.size() && common < context.size() && evaluated_[common] == context[common]) ++common;
    common = std::min(common, context.size() - 1);
    if (!session_.can_rewind() && common < evaluated_.size()) common = 0;
    session_.truncate(common);
    evaluated_.resize(common);
    const std::span<const int32_t> rest = context.subspan(common);
    if (Status s = session_.evaluate(rest); !s.ok()) {
        session_.truncate(0);
        evaluated_.clear();
        return s.error().within("draft model");
    }
    evaluated_.insert(evaluated_.end(), rest.begin(), rest.end());
    return {};
}

Status DraftModelDrafter::draft(std::span<const int32_t> context, size_t max_tokens, std::vector<int32_t>& out) {
    out.clear();
    if (context.empty() || max_tokens == 0) return {};
    max_tokens = std::min(max_tokens, session_.n_ctx() - std::min(session_.n_ctx(), context.size()));
    if (max_tokens == 0) return {};
    TERN_TRY(catch_up(context));
    while (out.size() < max_tokens) {
        const auto [token, probability] = most_likely(session_.last_logits());
        if (probability < options_.min_probability) break;
        out.push_back(token);
        if (out.size() == max_tokens) break;
        // The next guess needs this one evaluated; the cache keeps it for the next draft too.
        if (Status s = session_.evaluate(std::span(&token, 1)); !s.ok()) return s.error().within("draft model");
        evaluated_.push_back(token);
    }
    return {};
}

}  // namespace tern::engine

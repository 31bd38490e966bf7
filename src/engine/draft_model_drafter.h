// Draft-model drafting: a smaller model with the same vocabulary guesses greedily, a few tokens
// at a time, and keeps its own KV cache in step with the target's sequence (only the part that
// changed since the last draft is evaluated again).
#pragma once

#include <memory>

#include "engine/drafter.h"
#include "engine/inference_session.h"
#include "engine/model_loading.h"

namespace tern::engine {

struct DraftModelOptions {
    // Drafting stops at a token the draft model itself gives less than this probability: such
    // guesses are rarely accepted and each costs a draft step and a verification row.
    float min_probability = 0.3f;
};

// The draft model's guesses are token ids: they mean the same only if both vocabularies are the
// same list. Models without a tokenizer tern reads are compared by size alone.
Status check_same_vocabulary(const LoadedModel& draft, const LoadedModel& target);

class DraftModelDrafter : public Drafter {
public:
    // The draft model, its kernels and the pool must outlive this; n_ctx as the target's.
    DraftModelDrafter(const model::Model& draft_model, const kernels::KernelTable& table, ThreadPool& pool, size_t n_ctx,
                      DraftModelOptions options = {});

    // Errors: the draft model's own evaluation (a token outside its vocabulary, a full context).
    Status draft(std::span<const int32_t> context, size_t max_tokens, std::vector<int32_t>& out) override;

private:
    Status catch_up(std::span<const int32_t> context);

    InferenceSession session_;
    DraftModelOptions options_;
    std::vector<int32_t> evaluated_;   // the tokens in session_'s cache, in order
};

}  // namespace tern::engine

// tern::Model::generate_batch: one sequence per prompt in one multi-slot session. The prompts
// are prefilled in one batch; then every step samples each unfinished prompt's next token from
// its own logits row and evaluates all of those tokens together. The session computes per
// token, so every row is bit-identical to the one a lone generate() would see, and each prompt
// has its own sampler with the same seed: the tokens are the same as generate()'s.
#include <algorithm>

#include "api/generation_parts.h"
#include "core/str_cat.h"
#include "engine/inference_session.h"

namespace tern {
namespace {

struct BatchMember {
    BatchMember(const Model::State& state, const GenerateOptions& options, api::TextCallback on_text,
                std::vector<int32_t> prompt)
        : sequence(std::move(prompt)), sampler(api::sampler_options(options.sampling)),
          sink(state, options.stop, std::move(on_text), out) {
        out.prompt_tokens = sequence.size();
        out.finish = FinishReason::kLength;
    }
    std::vector<int32_t> sequence;   // prompt and generated tokens: the sampler's penalty window
    sampling::Sampler sampler;
    Generation out;
    api::TextSink sink;
    bool done = false;
    bool timed = false;      // out.generate_seconds is set
    size_t logits_row = 0;   // of the last evaluate_batch()
};

// Samples each unfinished member's next token and queues it for the next step; marks the
// members that finish here (end of generation, max_tokens, a stop string, a full context).
std::vector<engine::BatchToken> next_tokens(std::vector<std::unique_ptr<BatchMember>>& members,
                                           const engine::InferenceSession& session, const Model::State& state,
                                           const GenerateOptions& options) {
    const tokenizer::Vocabulary* vocab = state.loaded.tokenizer ? &state.loaded.tokenizer->vocab() : nullptr;
    std::vector<engine::BatchToken> batch;
    for (size_t slot = 0; slot < members.size(); ++slot) {
        BatchMember& m = *members[slot];
        if (m.done) continue;
        const int32_t token = m.sampler.sample(session.logits_row(m.logits_row), m.sequence);
        if (vocab != nullptr && vocab->is_end_of_generation(token)) {
            m.out.finish = FinishReason::kStop;
            m.done = true;
            continue;
        }
        m.sequence.push_back(token);
        ++m.out.generated_tokens;
        m.done = !m.sink.push(token) || m.out.generated_tokens >= options.max_tokens ||
                 session.n_past(slot) >= session.n_ctx();
        if (m.done) continue;
        m.logits_row = batch.size();
        batch.push_back({.token = token, .slot = slot, .logits = true});
    }
    return batch;
}

Result<std::vector<std::vector<int32_t>>> tokenize_prompts(const Model::State& state, std::span<const std::string> prompts,
                                                           const GenerateOptions& options) {
    if (!options.draft.empty() || options.draft_model != nullptr)
        return Error("generate_batch: speculative decoding (draft, draft_model) runs one prompt at a time");
    if (options.on_text) return Error("generate_batch: options.on_text is for one prompt; pass on_text(index, piece)");
    if (options.on_token || options.echo) return Error("generate_batch: options.on_token and echo are for one prompt");
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state.tokenizer());
    std::vector<std::vector<int32_t>> out;
    for (size_t i = 0; i < prompts.size(); ++i) {
        out.push_back(tok->encode(prompts[i], /*add_special=*/true, /*parse_special=*/true));
        TERN_TRY(api::check_prompt_fits(str_cat("generate_batch: prompt ", i), out.back().size(), state.context));
    }
    return out;
}

}  // namespace

Result<std::vector<Generation>> Model::generate_batch(
    std::span<const std::string> prompts, const GenerateOptions& options,
    const std::function<bool(size_t index, std::string_view piece)>& on_text) const {
    TERN_TRY(state_->on_leader("generate_batch"));
    if (prompts.empty()) return std::vector<Generation>();
    State& state = *state_;
    TERN_ASSIGN_OR_RETURN(std::vector<std::vector<int32_t>> prompt_ids, tokenize_prompts(state, prompts, options));
    size_t n_ctx = 0;
    std::vector<engine::BatchToken> batch;
    std::vector<std::unique_ptr<BatchMember>> members;
    for (size_t i = 0; i < prompt_ids.size(); ++i) {
        const std::vector<int32_t>& ids = prompt_ids[i];
        n_ctx = std::max(n_ctx, std::min(state.context, ids.size() + std::max<size_t>(options.max_tokens, 1)));
        for (size_t k = 0; k < ids.size(); ++k) batch.push_back({.token = ids[k], .slot = i, .logits = k + 1 == ids.size()});
        api::TextCallback piece_of_i;
        if (on_text) piece_of_i = [&on_text, i](std::string_view piece) { return on_text(i, piece); };
        members.push_back(std::make_unique<BatchMember>(state, options, std::move(piece_of_i), prompt_ids[i]));
        members.back()->logits_row = i;
        members.back()->done = options.max_tokens == 0;
    }
    std::lock_guard lock(state.compute);
    engine::InferenceSession session(state.model(), state.loaded.kernels, state.pool, n_ctx, prompts.size(), state.kv_type,
                                     state.model_split());
    const auto prompt_start = std::chrono::steady_clock::now();
    TERN_TRY(session.evaluate_batch(batch));
    const double prompt_seconds = api::seconds_since(prompt_start);

    const auto generate_start = std::chrono::steady_clock::now();
    while (true) {
        if (api::cancelled(options)) {
            for (auto& m : members) {
                if (m->done) continue;
                m->out.finish = FinishReason::kCancelled;
                m->done = true;
            }
            break;
        }
        batch = next_tokens(members, session, state, options);
        for (auto& m : members) {
            if (!m->done || m->timed) continue;
            m->out.generate_seconds = api::seconds_since(generate_start);
            m->timed = true;
        }
        if (batch.empty()) break;
        TERN_TRY(session.evaluate_batch(batch));
    }
    std::vector<Generation> out;
    for (auto& m : members) {
        if (m->out.finish != FinishReason::kCancelled) m->sink.finish();
        m->out.prompt_seconds = prompt_seconds;
        if (!m->timed) m->out.generate_seconds = api::seconds_since(generate_start);
        out.push_back(std::move(m->out));
    }
    return out;
}

}  // namespace tern

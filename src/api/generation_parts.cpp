#include "api/generation_parts.h"

#include "core/str_cat.h"
#include "engine/draft_model_drafter.h"
#include "engine/prompt_lookup_drafter.h"

namespace tern::api {

sampling::SamplerOptions sampler_options(const SamplingOptions& s) {
    sampling::SamplerOptions o;
    o.temperature = s.temperature;
    o.top_k = s.top_k;
    o.top_p = s.top_p;
    o.min_p = s.min_p;
    o.repeat_penalty = s.repeat_penalty;
    o.frequency_penalty = s.frequency_penalty;
    o.presence_penalty = s.presence_penalty;
    o.penalty_last_n = s.penalty_last_n;
    o.typical_p = s.typical_p;
    o.logit_bias = s.logit_bias;
    o.seed = s.seed;
    return o;
}

Result<std::unique_ptr<engine::Drafter>> make_drafter(const GenerateOptions& options, const Model::State& target,
                                                      Model::State* draft_state, size_t n_ctx) {
    if (draft_state != nullptr) {
        if (!options.draft.empty()) return Error(str_cat("generate: draft '", options.draft, "' and a draft model are both set"));
        if (Status same = engine::check_same_vocabulary(draft_state->loaded, target.loaded); !same.ok())
            return same.error().within("draft_model");
        return std::unique_ptr<engine::Drafter>(std::make_unique<engine::DraftModelDrafter>(
            draft_state->model(), draft_state->loaded.kernels, draft_state->pool, n_ctx));
    }
    if (options.draft.empty()) return std::unique_ptr<engine::Drafter>();
    if (options.draft == "ngram") return std::unique_ptr<engine::Drafter>(std::make_unique<engine::PromptLookupDrafter>());
    return Error(str_cat("draft '", options.draft, "' is not supported (\"\" or \"ngram\")"));
}

ComputeLocks::ComputeLocks(Model::State& target, Model::State* draft) : target_(target.compute, std::defer_lock) {
    if (draft == nullptr || draft == &target) {
        target_.lock();
        return;
    }
    draft_ = std::unique_lock(draft->compute, std::defer_lock);
    std::lock(target_, draft_);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool cancelled(const GenerateOptions& options) {
    return options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed);
}

TextSink::TextSink(const Model::State& state, const std::vector<std::string>& stop, TextCallback on_text,
                   Generation& out, TokenCallback on_token)
    : on_text_(std::move(on_text)), on_token_(std::move(on_token)), out_(out), stops_(stop) {
    if (state.loaded.tokenizer) {
        tokenizer_ = &*state.loaded.tokenizer;
        decoder_.emplace(*tokenizer_);
    }
}

bool TextSink::push(int32_t token) {
    out_.tokens.push_back(token);
    if (on_token_ && !on_token_(token)) {
        out_.finish = FinishReason::kCancelled;
        return false;
    }
    if (!decoder_) return true;
    const bool go_on = show(stops_.push(decoder_->push(token)));
    if (!stops_.stopped()) return go_on;
    out_.finish = FinishReason::kStop;
    return false;
}

bool TextSink::echo(std::span<const int32_t> prompt, bool strip_space_prefix) {
    if (tokenizer_ == nullptr) return true;
    std::string text = tokenizer_->decode(prompt);
    if (strip_space_prefix && text.starts_with(' ')) text.erase(0, 1);
    return show(text);
}

void TextSink::finish() {
    if (decoder_ && !stops_.stopped()) show(stops_.push(decoder_->flush()) + stops_.flush());
}

bool TextSink::show(const std::string& text) {
    out_.text += text;
    if (!text.empty() && on_text_ && !on_text_(text)) {
        out_.finish = FinishReason::kCancelled;
        return false;
    }
    return true;
}

Status check_token_ids(std::span<const int32_t> ids, size_t n_vocab) {
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || static_cast<size_t>(ids[i]) >= n_vocab)
            return Error(str_cat("token ", i, " is id ", ids[i], ", outside the vocabulary of ", n_vocab));
    return {};
}

Status check_prompt_fits(std::string_view what, size_t tokens, size_t context) {
    if (tokens == 0) return Error(str_cat(what, " is empty"));
    if (tokens >= context)
        return Error(str_cat(what, " (", tokens, " tokens) leaves no room in the context of ", context, " tokens"));
    return {};
}

Result<bool> decode_reply(engine::SpeculativeGenerator& generator, const tokenizer::Vocabulary* vocab, TextSink& sink,
                          const GenerateOptions& options, Generation& out, const std::function<void(int32_t)>& on_kept) {
    bool end_token = false;
    bool go_on = out.finish != FinishReason::kCancelled;
    while (go_on && out.generated_tokens < options.max_tokens) {
        if (cancelled(options)) {
            out.finish = FinishReason::kCancelled;
            break;
        }
        if (generator.context_full()) break;
        TERN_ASSIGN_OR_RETURN(const std::span<const int32_t> step, generator.next(options.max_tokens - out.generated_tokens));
        for (const int32_t token : step) {
            if (vocab != nullptr && vocab->is_end_of_generation(token)) {
                out.finish = FinishReason::kStop;
                end_token = true;
                go_on = false;
                break;
            }
            ++out.generated_tokens;
            if (on_kept) on_kept(token);
            if (!sink.push(token)) {
                go_on = false;
                break;
            }
        }
    }
    if (out.finish != FinishReason::kCancelled) sink.finish();
    out.draft_tokens = generator.stats().drafted;
    out.accepted_tokens = generator.stats().accepted;
    out.steps = generator.stats().steps + (generator.stats().emitted > 0 ? 1 : 0);
    return end_token;
}

}  // namespace tern::api

// tern::Model::generate and chat: a fresh sequence sized to the prompt plus the reply, decoded
// token by token (or several at once with a drafter), streamed as text, cut at stop strings.
#include <memory>
#include <mutex>

#include "api/generation_parts.h"
#include "core/str_cat.h"
#include "engine/inference_session.h"
#include "engine/speculative_generator.h"
#include "tokenizer/chat_template.h"

namespace tern {
namespace {

using api::TextSink;

Result<Generation> generate_from(Model::State& state, std::span<const int32_t> prompt, const GenerateOptions& options,
                                 Model::State* draft_state) {
    TERN_TRY(state.on_leader("generate"));
    TERN_TRY(api::check_prompt_fits("generate: the prompt", prompt.size(), state.context));
    if (options.max_draft < 1 || options.max_draft > 16)
        return Error(str_cat("generate: max_draft ", options.max_draft, " is outside 1-16"));
    // Sized for this call: a short reply does not allocate the model's whole context.
    const size_t n_ctx = std::min(state.context, prompt.size() + std::max<size_t>(options.max_tokens, 1));
    api::ComputeLocks locks(state, draft_state);
    TERN_ASSIGN_OR_RETURN(std::unique_ptr<engine::Drafter> drafter, api::make_drafter(options, state, draft_state, n_ctx));
    Generation out;
    out.prompt_tokens = prompt.size();
    engine::InferenceSession session(state.model(), state.loaded.kernels, state.pool, n_ctx, 1, state.kv_type,
                                     state.model_split());
    const auto prompt_start = std::chrono::steady_clock::now();
    TERN_TRY(session.evaluate(prompt));
    out.prompt_seconds = api::seconds_since(prompt_start);

    const auto generate_start = std::chrono::steady_clock::now();
    sampling::Sampler sampler(api::sampler_options(options.sampling));
    engine::SpeculativeOptions speculative{.max_draft = options.max_draft, .adaptive = options.adapt_draft};
    const tokenizer::Vocabulary* vocab = state.loaded.tokenizer ? &state.loaded.tokenizer->vocab() : nullptr;
    if (vocab != nullptr) speculative.ends_generation = [vocab](int32_t id) { return vocab->is_end_of_generation(id); };
    engine::SpeculativeGenerator generator(session, sampler, drafter.get(), prompt, 0, speculative);
    TextSink sink(state, options.stop, options.on_text, out, options.on_token);
    out.finish = FinishReason::kLength;
    const bool add_space_prefix = vocab != nullptr && vocab->add_space_prefix;
    if (options.echo) sink.echo(prompt, add_space_prefix);
    TERN_TRY(api::decode_reply(generator, vocab, sink, options, out));
    out.generate_seconds = api::seconds_since(generate_start);
    return out;
}

Result<tokenizer::ChatMessage::Role> parse_role(const std::string& role, size_t index) {
    if (const auto known = tokenizer::chat_role_from_name(role)) return *known;
    return Error(str_cat("chat: message ", index, " has role '", role, "' (", tokenizer::kChatRoleNames, ")"));
}

}  // namespace

Model::State* Model::draft_state(const GenerateOptions& options) {
    return options.draft_model != nullptr ? options.draft_model->state_.get() : nullptr;
}

std::string_view finish_reason_name(FinishReason reason) {
    switch (reason) {
        case FinishReason::kStop: return "stop";
        case FinishReason::kLength: return "length";
        case FinishReason::kCancelled: return "cancelled";
    }
    return "unknown";
}

Result<Generation> Model::generate(std::string_view prompt, const GenerateOptions& options) const {
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state_->tokenizer());
    const std::vector<int32_t> ids = tok->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
    return generate_from(*state_, ids, options, draft_state(options));
}

Result<Generation> Model::generate(std::span<const int32_t> prompt_ids, const GenerateOptions& options) const {
    if (Status ids = api::check_token_ids(prompt_ids, state_->model().hp.n_vocab); !ids.ok())
        return ids.error().within("generate");
    return generate_from(*state_, prompt_ids, options, draft_state(options));
}

Result<std::vector<int32_t>> Model::chat_prompt(std::span<const ChatMessage> messages) const {
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state_->tokenizer());
    if (messages.empty()) return Error("chat: no messages");
    std::vector<tokenizer::ChatMessage> conversation;
    for (size_t i = 0; i < messages.size(); ++i) {
        TERN_ASSIGN_OR_RETURN(const tokenizer::ChatMessage::Role role, parse_role(messages[i].role, i));
        conversation.push_back({role, messages[i].content});
    }
    Result<std::vector<tokenizer::ChatSegment>> segments = state_->chat_template->conversation(conversation);
    if (!segments.ok()) return segments.error().within("chat");
    return tokenizer::encode_segments(*tok, segments.value(), tok->vocab().add_bos);
}

Result<Generation> Model::chat(std::span<const ChatMessage> messages, const GenerateOptions& options) const {
    TERN_ASSIGN_OR_RETURN(const std::vector<int32_t> ids, chat_prompt(messages));
    return generate_from(*state_, ids, options, draft_state(options));
}

}  // namespace tern

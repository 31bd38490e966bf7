// tern::Chat: a conversation in one KV cache across turns (engine/conversation.h), each reply
// streamed like generate()'s, with the sampler's random stream and the drafter kept between
// turns.
#include <chrono>
#include <optional>

#include "api/generation_parts.h"
#include "core/str_cat.h"
#include "engine/conversation.h"
#include "engine/inference_session.h"
#include "engine/speculative_generator.h"

namespace tern {

struct Chat::Impl {
    // Made and destroyed under the model's lock (see new_chat and the destructor): under a
    // split, a session's creation and end are messages to the other ranks.
    Impl(std::shared_ptr<Model::State> model_state, const tokenizer::Tokenizer& tok, std::string system, size_t context)
        : state(std::move(model_state)),
          session(state->model(), state->loaded.kernels, state->pool, context, 1, state->kv_type, state->model_split()),
          conversation(session, tok, *state->chat_template, std::move(system)) {}

    sampling::Sampler& sampler_for(const SamplingOptions& options) {
        if (!sampler || options != sampling) {
            sampler.emplace(api::sampler_options(options));
            sampling = options;
        }
        return *sampler;
    }

    // The drafter a send asks for: kept while the same source is asked for again, so a draft
    // model's cache follows the conversation rather than starting over each turn. The draft
    // model's state is held with it, since its caller may let the model go between turns.
    Result<engine::Drafter*> drafter_for(const GenerateOptions& options, std::shared_ptr<Model::State> draft_state) {
        const std::string source = draft_state ? "model" : options.draft;
        if (!drafter || source != drafter_source || draft_state != drafter_model) {
            drafter.reset();
            TERN_ASSIGN_OR_RETURN(drafter, api::make_drafter(options, *state, draft_state.get(), session.n_ctx()));
            drafter_source = source;
            drafter_model = std::move(draft_state);
        }
        return drafter.get();
    }

    Result<Generation> reply(const GenerateOptions& options, engine::Drafter* drafter_now, Generation& out);

    std::shared_ptr<Model::State> state;   // keeps the weights alive as long as the chat
    engine::InferenceSession session;
    engine::Conversation conversation;
    std::optional<sampling::Sampler> sampler;
    SamplingOptions sampling;
    std::shared_ptr<Model::State> drafter_model;   // declared before the drafter, which uses it
    std::unique_ptr<engine::Drafter> drafter;
    std::string drafter_source;
    bool restarted = false;
};

Result<Generation> Chat::Impl::reply(const GenerateOptions& options, engine::Drafter* drafter_now, Generation& out) {
    const tokenizer::Vocabulary& vocab = state->loaded.tokenizer->vocab();
    engine::SpeculativeOptions speculative{.max_draft = options.max_draft, .adaptive = options.adapt_draft};
    speculative.ends_generation = [&vocab](int32_t id) { return vocab.is_end_of_generation(id); };
    const std::span<const int32_t> context = conversation.cached_tokens();
    engine::SpeculativeGenerator generator(session, sampler_for(options.sampling), drafter_now, context, context.size(),
                                           speculative);
    api::TextSink sink(*state, options.stop, options.on_text, out, options.on_token);
    std::vector<int32_t> evaluated;   // the reply's tokens now in the cache
    int32_t last = -1;                // the reply's last token, not yet in the cache (-1: none)
    out.finish = FinishReason::kLength;
    TERN_ASSIGN_OR_RETURN(const bool end_token, api::decode_reply(generator, &vocab, sink, options, out, [&](int32_t token) {
                              if (last >= 0) evaluated.push_back(last);
                              last = token;
                          }));
    // A step ends at an end token (which stays out of the cache), so every token before it is in
    // the cache; otherwise the last one is evaluated too, so the next turn follows the whole reply.
    if (last >= 0 && end_token) evaluated.push_back(last);
    if (last >= 0 && !end_token && !generator.context_full()) {
        TERN_TRY(generator.commit_last());
        evaluated.push_back(last);
    }
    TERN_TRY(conversation.end_reply(out.text, evaluated));
    return out;
}

Result<Chat> Model::new_chat(const ChatOptions& options) const {
    TERN_TRY(state_->on_leader("new_chat"));
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, state_->tokenizer());
    if (options.context > state_->context)
        return Error(str_cat("chat: context ", options.context, " exceeds the model's ", state_->context, " tokens"));
    const size_t context = options.context > 0 ? options.context : state_->context;
    std::unique_lock lock(state_->compute);
    auto impl = std::make_unique<Chat::Impl>(state_, *tok, options.system, context);
    const Status started = impl->conversation.reset();
    if (!started.ok()) {
        impl.reset();   // under the lock, as every Chat ends
        return started.error();
    }
    lock.unlock();
    return Chat(std::move(impl));
}

Chat::Chat(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Chat::Chat(Chat&&) noexcept = default;
Chat& Chat::operator=(Chat&& other) noexcept {
    if (this != &other) {
        Chat ended(std::move(*this));   // ends under the model's lock, as ~Chat does
        impl_ = std::move(other.impl_);
    }
    return *this;
}
Chat::~Chat() {
    if (!impl_) return;   // moved from
    const std::shared_ptr<Model::State> state = impl_->state;
    std::lock_guard lock(state->compute);
    impl_.reset();
}

Result<Generation> Chat::send(std::string_view message, const GenerateOptions& options) {
    if (options.max_draft < 1 || options.max_draft > 16)
        return Error(str_cat("chat: max_draft ", options.max_draft, " is outside 1-16"));
    if (options.echo) return Error("chat: echo is for generate (a chat's prompt is the conversation)");
    std::shared_ptr<Model::State> draft_state = options.draft_model ? options.draft_model->state_ : nullptr;
    api::ComputeLocks locks(*impl_->state, draft_state.get());
    TERN_ASSIGN_OR_RETURN(engine::Drafter * drafter, impl_->drafter_for(options, std::move(draft_state)));
    Generation out;
    const size_t before = impl_->session.n_past();
    const auto prompt_start = std::chrono::steady_clock::now();
    const size_t reply_room = std::min(options.max_tokens, impl_->session.n_ctx() / 2);
    Result<bool> added = impl_->conversation.add_user_message(message, reply_room);
    if (!added.ok()) return added.error().within("chat");
    impl_->restarted = added.value();
    out.prompt_seconds = api::seconds_since(prompt_start);
    const size_t after = impl_->session.n_past();
    out.prompt_tokens = after > before && !impl_->restarted ? after - before : after;
    const auto generate_start = std::chrono::steady_clock::now();
    if (Result<Generation> replied = impl_->reply(options, drafter, out); !replied.ok()) {
        // The cache holds part of a reply the conversation does not record: start over rather
        // than continue from a state no rendering matches.
        impl_->restarted = impl_->conversation.reset().ok();
        return replied.error().within("chat (the conversation restarted)");
    }
    out.generate_seconds = api::seconds_since(generate_start);
    return out;
}

Status Chat::reset() {
    std::lock_guard lock(impl_->state->compute);
    impl_->restarted = false;
    return impl_->conversation.reset();
}

bool Chat::restarted() const { return impl_->restarted; }
size_t Chat::size() const { return impl_->session.n_past(); }
size_t Chat::context() const { return impl_->session.n_ctx(); }

}  // namespace tern

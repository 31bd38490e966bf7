// A multi-turn chat kept in one inference session, so earlier turns stay in the KV cache.
// A built-in format renders turn by turn and only the new tokens are evaluated. A Jinja
// template renders the whole conversation each turn; the cache keeps the longest prefix it
// shares with the new rendering and only the rest is evaluated. When a turn (plus room for the
// reply) no longer fits, the conversation restarts from the system prompt.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/inference_session.h"
#include "tern/status.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tern::engine {

class Conversation {
public:
    Conversation(InferenceSession& session, const tokenizer::Tokenizer& tokenizer, tokenizer::ChatTemplate chat_template,
                 std::string system);

    // Starts over from the system prompt (the cache is cleared).
    Status reset();

    // Evaluates a user message and the assistant header; afterwards the session's last logits
    // predict the reply's first token. Returns true when the context was full and the
    // conversation was restarted to make room. Errors: the message cannot fit even after a
    // restart (with `reply_room` tokens left for the answer), or the template refuses it.
    Result<bool> add_user_message(std::string_view message, size_t reply_room);

    // Closes the assistant's reply: `reply` is its text, `evaluated` the reply tokens that were
    // evaluated into the cache after add_user_message.
    Status end_reply(std::string_view reply, std::span<const int32_t> evaluated);

    const tokenizer::ChatTemplate& chat_template() const { return template_; }
    // The tokens in the session's cache, in order (what a drafter reads as the context).
    std::span<const int32_t> cached_tokens() const { return cached_; }

private:
    Result<bool> add_user_message_jinja(std::string_view message, size_t reply_room);
    Result<std::vector<int32_t>> render_history() const;
    Status bring_cache_to(const std::vector<int32_t>& tokens);
    std::vector<tokenizer::ChatMessage> fresh_history() const;

    InferenceSession& session_;
    const tokenizer::Tokenizer& tokenizer_;
    tokenizer::ChatTemplate template_;
    std::string system_;
    std::vector<tokenizer::ChatMessage> history_;   // Jinja templates: the conversation so far
    std::vector<int32_t> cached_;                   // the tokens in the cache
};

}  // namespace tern::engine

// A multi-turn chat kept in one inference session: each turn is rendered by the chat template
// and only the new tokens are evaluated, so earlier turns stay in the KV cache. When a turn
// (plus room for the reply) no longer fits, the conversation restarts from the system prompt.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/inference_session.h"
#include "tern/status.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tern::engine {

class Conversation {
public:
    Conversation(InferenceSession& session, const tokenizer::Tokenizer& tokenizer, tokenizer::ChatTemplate chat_template,
                 std::string system);

    // Starts over: clears the cache and evaluates the template's start and the system prompt.
    Status reset();

    // Evaluates a user message and the assistant header; afterwards the session's last logits
    // predict the reply's first token. Returns true when the context was full and the
    // conversation was restarted to make room. Errors: the message cannot fit even after a
    // restart (with `reply_room` tokens left for the answer).
    Result<bool> add_user_message(std::string_view message, size_t reply_room);

    // Closes the assistant's reply in the cache (the template's end-of-reply text).
    Status end_reply();

    const tokenizer::ChatTemplate& chat_template() const { return template_; }

private:
    InferenceSession& session_;
    const tokenizer::Tokenizer& tokenizer_;
    tokenizer::ChatTemplate template_;
    std::string system_;
};

}  // namespace tern::engine

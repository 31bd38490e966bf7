#include "engine/conversation.h"

#include "core/str_cat.h"

namespace tern::engine {

Conversation::Conversation(InferenceSession& session, const tokenizer::Tokenizer& tokenizer,
                           tokenizer::ChatTemplate chat_template, std::string system)
    : session_(session), tokenizer_(tokenizer), template_(chat_template), system_(std::move(system)) {}

Status Conversation::reset() {
    session_.truncate(0);
    const std::vector<int32_t> start =
        tokenizer::encode_segments(tokenizer_, template_.begin(system_), tokenizer_.vocab().add_bos);
    if (start.empty()) return {};
    if (start.size() >= session_.n_ctx())
        return Error(str_cat("the system prompt (", start.size(), " tokens) does not fit the context of ",
                             session_.n_ctx(), " tokens"));
    return session_.evaluate(start);
}

Result<bool> Conversation::add_user_message(std::string_view message, size_t reply_room) {
    const std::vector<int32_t> turn = tokenizer::encode_segments(tokenizer_, template_.user_turn(message), false);
    bool restarted = false;
    if (session_.n_past() == 0) {
        TERN_TRY(reset());
    } else if (session_.n_past() + turn.size() + reply_room > session_.n_ctx()) {
        TERN_TRY(reset());
        restarted = true;
    }
    if (session_.n_past() + turn.size() + reply_room > session_.n_ctx())
        return Error(str_cat("the message (", turn.size(), " tokens) and ", reply_room,
                             " tokens for the reply do not fit the context of ", session_.n_ctx(), " tokens"));
    TERN_TRY(session_.evaluate(turn));
    return restarted;
}

Status Conversation::end_reply() {
    const std::vector<int32_t> close =
        tokenizer::encode_segments(tokenizer_, {{std::string(template_.end_of_reply), true}}, false);
    if (close.empty() || session_.n_past() + close.size() > session_.n_ctx()) return {};
    return session_.evaluate(close);
}

}  // namespace tern::engine

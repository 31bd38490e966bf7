#include "engine/conversation.h"

#include <algorithm>

#include "core/str_cat.h"

namespace tern::engine {

using tokenizer::ChatMessage;

Conversation::Conversation(InferenceSession& session, const tokenizer::Tokenizer& tokenizer,
                           tokenizer::ChatTemplate chat_template, std::string system)
    : session_(session), tokenizer_(tokenizer), template_(chat_template), system_(std::move(system)),
      history_(fresh_history()) {}

std::vector<ChatMessage> Conversation::fresh_history() const {
    if (system_.empty()) return {};
    return {{ChatMessage::Role::kSystem, system_}};
}

Status Conversation::reset() {
    session_.truncate(0);
    if (template_.is_jinja()) {
        history_ = fresh_history();
        cached_.clear();
        return {};
    }
    const std::vector<int32_t> start =
        tokenizer::encode_segments(tokenizer_, template_.begin(system_), tokenizer_.vocab().add_bos);
    cached_.clear();
    if (start.empty()) return {};
    if (start.size() >= session_.n_ctx())
        return Error(str_cat("the system prompt (", start.size(), " tokens) does not fit the context of ",
                             session_.n_ctx(), " tokens"));
    TERN_TRY(session_.evaluate(start));
    cached_ = start;
    return {};
}

Result<bool> Conversation::add_user_message(std::string_view message, size_t reply_room) {
    if (template_.is_jinja()) return add_user_message_jinja(message, reply_room);
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
    cached_.insert(cached_.end(), turn.begin(), turn.end());
    return restarted;
}

Result<std::vector<int32_t>> Conversation::render_history() const {
    TERN_ASSIGN_OR_RETURN(const std::vector<tokenizer::ChatSegment> segments, template_.conversation(history_));
    return tokenizer::encode_segments(tokenizer_, segments, tokenizer_.vocab().add_bos);
}

Result<bool> Conversation::add_user_message_jinja(std::string_view message, size_t reply_room) {
    if (session_.n_past() == 0) history_ = fresh_history();   // the session was cleared elsewhere
    // On any error the conversation is left as it was.
    const std::vector<ChatMessage> before = history_;
    history_.push_back({ChatMessage::Role::kUser, std::string(message)});
    Result<std::vector<int32_t>> tokens = render_history();
    bool restarted = false;
    if (tokens.ok() && tokens.value().size() + reply_room > session_.n_ctx() && history_.size() > fresh_history().size() + 1) {
        history_ = fresh_history();
        history_.push_back({ChatMessage::Role::kUser, std::string(message)});
        tokens = render_history();
        restarted = true;
    }
    Status problem;
    if (!tokens.ok()) {
        problem = tokens.error();
    } else if (tokens.value().empty()) {
        problem = Error("the chat template rendered nothing for this conversation");
    } else if (tokens.value().size() + reply_room > session_.n_ctx()) {
        problem = Error(str_cat("the conversation (", tokens.value().size(), " tokens) and ", reply_room,
                                " tokens for the reply do not fit the context of ", session_.n_ctx(), " tokens"));
    }
    if (!problem.ok()) {
        history_ = before;
        return problem.error();
    }
    TERN_TRY(bring_cache_to(tokens.value()));
    return restarted;
}

Status Conversation::bring_cache_to(const std::vector<int32_t>& tokens) {
    size_t keep = 0;
    const size_t limit = std::min({cached_.size(), tokens.size(), session_.n_past()});
    while (keep < limit && cached_[keep] == tokens[keep]) ++keep;
    if (keep == tokens.size()) --keep;   // the last token is evaluated again for its logits
    if (keep < session_.n_past() && !session_.can_rewind()) keep = 0;
    session_.truncate(keep);
    TERN_TRY(session_.evaluate(std::span(tokens).subspan(keep)));
    cached_ = tokens;
    return {};
}

Status Conversation::end_reply(std::string_view reply, std::span<const int32_t> evaluated) {
    if (template_.is_jinja()) {
        history_.push_back({ChatMessage::Role::kAssistant, std::string(reply)});
        cached_.insert(cached_.end(), evaluated.begin(), evaluated.end());
        cached_.resize(std::min(cached_.size(), session_.n_past()));
        return {};
    }
    cached_.insert(cached_.end(), evaluated.begin(), evaluated.end());
    const std::vector<int32_t> close =
        tokenizer::encode_segments(tokenizer_, {{std::string(template_.end_of_reply), true}}, false);
    if (close.empty() || session_.n_past() + close.size() > session_.n_ctx()) return {};
    TERN_TRY(session_.evaluate(close));
    cached_.insert(cached_.end(), close.begin(), close.end());
    return {};
}

}  // namespace tern::engine

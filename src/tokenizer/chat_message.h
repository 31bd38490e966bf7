// What chat templates render: messages in, segments of text out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern::tokenizer {

struct ChatSegment {
    std::string text;
    bool trusted;   // template text: special-token texts in it become their ids
};

// One message of a conversation.
struct ChatMessage {
    enum class Role { kSystem, kUser, kAssistant };
    Role role;
    std::string content;
};

// The role names chat requests use, for messages: OpenAI's, where "developer" is the newer name
// of "system".
inline constexpr std::string_view kChatRoleNames = "system, developer, user or assistant";

// The role of one of kChatRoleNames; nullopt for any other name.
inline std::optional<ChatMessage::Role> chat_role_from_name(std::string_view name) {
    if (name == "system" || name == "developer") return ChatMessage::Role::kSystem;
    if (name == "user") return ChatMessage::Role::kUser;
    if (name == "assistant") return ChatMessage::Role::kAssistant;
    return std::nullopt;
}

}  // namespace tern::tokenizer

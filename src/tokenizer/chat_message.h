// What chat templates render: messages in, segments of text out.
#pragma once

#include <string>

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

}  // namespace tern::tokenizer

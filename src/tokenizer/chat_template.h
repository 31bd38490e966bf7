// Prompt formats for chat, built in (no Jinja): BitNet b1.58 2B4T's "Role: content<|eot_id|>",
// Llama-3 instruct headers, ChatML, Falcon3, and a plain "User:/Assistant:" fallback for models without
// chat tokens. A conversation is rendered turn by turn so that earlier turns stay in the KV
// cache: every piece is a list of segments, and user text is encoded with special-token
// parsing off, so it can never inject control tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"
#include "tokenizer/tokenizer.h"

namespace tern::tokenizer {

struct ChatSegment {
    std::string text;
    bool trusted;   // template text: special-token texts in it become their ids
};

// One message of a whole conversation given at once (the server's chat requests).
struct ChatMessage {
    enum class Role { kSystem, kUser, kAssistant };
    Role role;
    std::string content;
};

struct ChatTemplate {
    std::string_view name;
    std::string_view bos;              // template text that starts a conversation ("" = none)
    std::string_view system_prefix, system_suffix;
    std::string_view user_prefix, user_suffix;
    std::string_view assistant_prefix;
    std::string_view end_of_reply;     // closes an assistant reply in the transcript

    // Conversation start (BOS, system prompt if any).
    std::vector<ChatSegment> begin(std::string_view system) const;
    // One user message followed by the assistant header that asks for a reply.
    std::vector<ChatSegment> user_turn(std::string_view message) const;
    // A whole conversation followed by the assistant header: leading system messages become
    // the system prompt, later ones system turns; earlier assistant replies are closed with
    // end_of_reply. For [system, user] it equals begin(system) + user_turn(user).
    std::vector<ChatSegment> conversation(const std::vector<ChatMessage>& messages) const;
};

// "bitnet", "llama3", "chatml", "falcon3", "plain"; nullopt for other names.
std::optional<ChatTemplate> chat_template_by_name(std::string_view name);
std::string chat_template_names();

// The template a model should use: 2B4T's for bitnet-b1.58 models with <|eot_id|>, Llama-3's
// when the vocabulary has its header tokens, ChatML when it has <|im_start|>, Falcon3's for
// the falcon3 / falcon_e pre-tokenizers, else plain.
ChatTemplate choose_chat_template(std::string_view architecture, const Vocabulary& vocab);

// Token ids of segments encoded as one text (special-token texts parsed in trusted segments
// only); `add_bos` puts the vocabulary's BOS first unless the template already did.
std::vector<int32_t> encode_segments(const Tokenizer& tokenizer, const std::vector<ChatSegment>& segments,
                                     bool add_bos);

}  // namespace tern::tokenizer

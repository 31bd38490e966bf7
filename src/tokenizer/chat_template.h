// Prompt formats for chat: the model's own Jinja template (jinja_chat_template.h) where it ships
// one, else a built-in format: BitNet b1.58 2B4T's "Role: content<|eot_id|>", Llama-3 instruct
// headers, ChatML, Falcon3, and a plain "User:/Assistant:" fallback for models without chat
// tokens. A built-in format renders turn by turn so that earlier turns stay in the KV cache.
// Every rendering is a list of segments, and message text is encoded with special-token
// parsing off, so it can never inject control tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"
#include "tokenizer/chat_message.h"
#include "tokenizer/jinja_chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tern::tokenizer {


struct ChatTemplate {
    std::string_view name;
    std::string_view bos;              // template text that starts a conversation ("" = none)
    std::string_view system_prefix, system_suffix;
    std::string_view user_prefix, user_suffix;
    std::string_view assistant_prefix;
    std::string_view end_of_reply;     // closes an assistant reply in the transcript
    std::shared_ptr<const JinjaChatTemplate> jinja;   // set: the fields above are unused

    bool is_jinja() const { return jinja != nullptr; }

    // Built-in formats only: conversation start (BOS, system prompt if any).
    std::vector<ChatSegment> begin(std::string_view system) const;
    // Built-in formats only: one user message followed by the assistant header.
    std::vector<ChatSegment> user_turn(std::string_view message) const;
    // A whole conversation followed by the assistant header. Built-in formats: leading system
    // messages become the system prompt, later ones system turns; earlier assistant replies
    // are closed with end_of_reply; for [system, user] it equals begin(system) +
    // user_turn(user). Jinja templates can refuse a conversation (raise_exception).
    Result<std::vector<ChatSegment>> conversation(const std::vector<ChatMessage>& messages) const;
};

// A Jinja template as a ChatTemplate named `name`; the error names the line that fails to parse.
Result<ChatTemplate> jinja_chat_template(std::string_view source, const Vocabulary& vocab, std::string_view name);

// "bitnet", "llama3", "chatml", "falcon3", "plain"; nullopt for other names.
std::optional<ChatTemplate> chat_template_by_name(std::string_view name);
std::string chat_template_names();

// The built-in format closest to a model: 2B4T's for bitnet-b1.58 models with <|eot_id|>,
// Llama-3's when the vocabulary has its header tokens, ChatML when it has <|im_start|>,
// Falcon3's for the falcon3 / falcon_e pre-tokenizers, else plain.
ChatTemplate choose_chat_template(std::string_view architecture, const Vocabulary& vocab);

// Token ids of segments encoded as one text (special-token texts parsed in trusted segments
// only); `add_bos` puts the vocabulary's BOS first unless the template already did.
std::vector<int32_t> encode_segments(const Tokenizer& tokenizer, const std::vector<ChatSegment>& segments,
                                     bool add_bos);

}  // namespace tern::tokenizer

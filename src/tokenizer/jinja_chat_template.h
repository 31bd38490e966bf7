// A model's own Jinja chat template (GGUF tokenizer.chat_template, tokenizer_config.json's
// chat_template, chat_template.jinja, or --chat-template FILE), rendered with the variables
// Hugging Face passes: messages, add_generation_prompt, bos_token, eos_token. Message text
// stays untrusted through the template, so special-token texts a user types are never parsed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"
#include "tokenizer/chat_message.h"
#include "tokenizer/jinja/jinja_template.h"
#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {

class JinjaChatTemplate {
public:
    // Parses `source`; bos_token and eos_token are the vocabulary's texts ("" when it has none).
    static Result<JinjaChatTemplate> parse(std::string_view source, const Vocabulary& vocab);

    // The whole conversation, then the assistant header when add_generation_prompt.
    Result<std::vector<ChatSegment>> render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

private:
    jinja::JinjaTemplate template_;
    std::string bos_token_;
    std::string eos_token_;
};

}  // namespace tern::tokenizer

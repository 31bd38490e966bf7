#include "tokenizer/jinja_chat_template.h"

namespace tern::tokenizer {
namespace {

std::string token_text(const Vocabulary& vocab, int32_t id) {
    return id >= 0 && static_cast<size_t>(id) < vocab.size() ? vocab.tokens[static_cast<size_t>(id)] : std::string();
}

std::string_view role_name(ChatMessage::Role role) {
    switch (role) {
        case ChatMessage::Role::kSystem: return "system";
        case ChatMessage::Role::kUser: return "user";
        case ChatMessage::Role::kAssistant: return "assistant";
    }
    return "user";
}

// Runs of equally trusted bytes become segments.
std::vector<ChatSegment> segments_of(const jinja::Text& text) {
    std::vector<ChatSegment> segments;
    size_t start = 0;
    for (size_t i = 1; i <= text.text.size(); ++i)
        if (i == text.text.size() || text.untrusted_at(i) != text.untrusted_at(start)) {
            segments.push_back({text.text.substr(start, i - start), !text.untrusted_at(start)});
            start = i;
        }
    return segments;
}

}  // namespace

Result<JinjaChatTemplate> JinjaChatTemplate::parse(std::string_view source, const Vocabulary& vocab) {
    TERN_ASSIGN_OR_RETURN(jinja::JinjaTemplate parsed, jinja::JinjaTemplate::parse(source));
    JinjaChatTemplate chat;
    chat.template_ = std::move(parsed);
    chat.bos_token_ = token_text(vocab, vocab.bos);
    chat.eos_token_ = token_text(vocab, vocab.eos);
    return chat;
}

Result<std::vector<ChatSegment>> JinjaChatTemplate::render(const std::vector<ChatMessage>& messages,
                                                           bool add_generation_prompt) const {
    jinja::Array list;
    for (const ChatMessage& m : messages)
        list.push_back(jinja::Value::of(jinja::Object{{"role", jinja::Value::of(std::string(role_name(m.role)))},
                                                      {"content", jinja::Value::of(jinja::Text::from_message(m.content))}}));
    const jinja::Object variables = {
        {"messages", jinja::Value::of(std::move(list))},
        {"add_generation_prompt", jinja::Value::of(add_generation_prompt)},
        {"bos_token", jinja::Value::of(bos_token_)},
        {"eos_token", jinja::Value::of(eos_token_)},
    };
    TERN_ASSIGN_OR_RETURN(jinja::Text text, template_.render(variables));
    return segments_of(text);
}

}  // namespace tern::tokenizer

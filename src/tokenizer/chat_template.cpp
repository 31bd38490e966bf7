#include "tokenizer/chat_template.h"


namespace tern::tokenizer {
namespace {

// tokenizers.md §6: 2B4T (Microsoft's reference ChatFormat / the HF template), Llama-3
// instruct, ChatML, Falcon3, and a plain fallback.
const ChatTemplate kTemplates[] = {
    {.name = "bitnet", .bos = "<|begin_of_text|>", .system_prefix = "System: ", .system_suffix = "<|eot_id|>",
     .user_prefix = "User: ", .user_suffix = "<|eot_id|>", .assistant_prefix = "Assistant: ", .end_of_reply = "<|eot_id|>", .jinja = nullptr},
    {.name = "llama3", .bos = "<|begin_of_text|>", .system_prefix = "<|start_header_id|>system<|end_header_id|>\n\n",
     .system_suffix = "<|eot_id|>", .user_prefix = "<|start_header_id|>user<|end_header_id|>\n\n",
     .user_suffix = "<|eot_id|>", .assistant_prefix = "<|start_header_id|>assistant<|end_header_id|>\n\n",
     .end_of_reply = "<|eot_id|>", .jinja = nullptr},
    {.name = "chatml", .bos = "", .system_prefix = "<|im_start|>system\n", .system_suffix = "<|im_end|>\n",
     .user_prefix = "<|im_start|>user\n", .user_suffix = "<|im_end|>\n", .assistant_prefix = "<|im_start|>assistant\n",
     .end_of_reply = "<|im_end|>\n", .jinja = nullptr},
    // Falcon3-Instruct as third-party copies of its tokenizer_config show it; Falcon-E is
    // assumed to share it (UNCONFIRMED in tokenizers.md §6.3).
    {.name = "falcon3", .bos = "", .system_prefix = "<|system|>\n", .system_suffix = "\n",
     .user_prefix = "<|user|>\n", .user_suffix = "\n", .assistant_prefix = "<|assistant|>\n",
     .end_of_reply = "<|endoftext|>\n", .jinja = nullptr},
    {.name = "plain", .bos = "", .system_prefix = "", .system_suffix = "\n", .user_prefix = "User: ",
     .user_suffix = "\n", .assistant_prefix = "Assistant:", .end_of_reply = "\n", .jinja = nullptr},
};

ChatTemplate named(std::string_view name) { return *chat_template_by_name(name); }

}  // namespace

std::vector<ChatSegment> ChatTemplate::begin(std::string_view system) const {
    std::vector<ChatSegment> segments;
    if (!bos.empty()) segments.push_back({std::string(bos), true});
    if (!system.empty()) {
        segments.push_back({std::string(system_prefix), true});
        segments.push_back({std::string(system), false});
        segments.push_back({std::string(system_suffix), true});
    }
    return segments;
}

std::vector<ChatSegment> ChatTemplate::user_turn(std::string_view message) const {
    return {{std::string(user_prefix), true},
            {std::string(message), false},
            {std::string(user_suffix), true},
            {std::string(assistant_prefix), true}};
}

Result<std::vector<ChatSegment>> ChatTemplate::conversation(const std::vector<ChatMessage>& messages) const {
    using Role = ChatMessage::Role;
    if (jinja) return jinja->render(messages, /*add_generation_prompt=*/true);
    size_t first = 0;
    std::string system;
    for (; first < messages.size() && messages[first].role == Role::kSystem; ++first)
        system += (first == 0 ? "" : "\n") + messages[first].content;
    std::vector<ChatSegment> segments = begin(system);
    auto add = [&](std::string_view prefix, const std::string& text, std::string_view suffix) {
        segments.push_back({std::string(prefix), true});
        segments.push_back({text, false});
        segments.push_back({std::string(suffix), true});
    };
    for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        if (m.role == Role::kSystem) add(system_prefix, m.content, system_suffix);
        if (m.role == Role::kUser) add(user_prefix, m.content, user_suffix);
        if (m.role == Role::kAssistant) add(assistant_prefix, m.content, end_of_reply);
    }
    segments.push_back({std::string(assistant_prefix), true});
    return segments;
}

Result<ChatTemplate> jinja_chat_template(std::string_view source, const Vocabulary& vocab, std::string_view name) {
    TERN_ASSIGN_OR_RETURN(JinjaChatTemplate parsed, JinjaChatTemplate::parse(source, vocab));
    ChatTemplate t;
    t.name = name;
    t.jinja = std::make_shared<const JinjaChatTemplate>(std::move(parsed));
    return t;
}

std::optional<ChatTemplate> chat_template_by_name(std::string_view name) {
    for (const ChatTemplate& t : kTemplates)
        if (t.name == name) return t;
    return std::nullopt;
}

std::string chat_template_names() { return "bitnet, llama3, chatml, falcon3, plain"; }

ChatTemplate choose_chat_template(std::string_view architecture, const Vocabulary& vocab) {
    const bool has_eot = vocab.find("<|eot_id|>") >= 0;
    if (architecture == "bitnet-b1.58" && has_eot) return named("bitnet");
    if (has_eot && vocab.find("<|start_header_id|>") >= 0) return named("llama3");
    if (vocab.find("<|im_start|>") >= 0) return named("chatml");
    if (vocab.pre == "falcon3" || vocab.pre == "falcon_e") return named("falcon3");
    return named("plain");
}

std::vector<int32_t> encode_segments(const Tokenizer& tokenizer, const std::vector<ChatSegment>& segments,
                                     bool add_bos) {
    std::vector<std::pair<std::string_view, bool>> parts;
    for (const ChatSegment& s : segments) parts.emplace_back(s.text, s.trusted);
    std::vector<int32_t> ids = tokenizer.encode_parts(parts, /*add_special=*/false);
    if (add_bos && tokenizer.vocab().bos >= 0 && (ids.empty() || ids.front() != tokenizer.vocab().bos))
        ids.insert(ids.begin(), tokenizer.vocab().bos);
    return ids;
}

}  // namespace tern::tokenizer

#include "tokenizer/tokenizer_config.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/mapped_file.h"

namespace tern::tokenizer {
namespace {

using nlohmann::json;

std::string token_text(const json& j) {   // "<s>" or {"content": "<s>", ...}
    if (j.is_string()) return j.get<std::string>();
    if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
    return {};
}

std::string chat_template_text(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (!j.is_array()) return {};
    std::string first;
    for (const json& entry : j) {
        if (!entry.is_object() || !entry.contains("template") || !entry["template"].is_string()) continue;
        if (entry.value("name", "") == "default") return entry["template"].get<std::string>();
        if (first.empty()) first = entry["template"].get<std::string>();
    }
    return first;
}

}  // namespace

Status apply_tokenizer_config(std::string_view config_json, Vocabulary& vocab) {
    const json config = json::parse(config_json, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return Error("tokenizer_config.json is not a JSON object");
    for (auto [key, id] : {std::pair{"bos_token", &vocab.bos}, std::pair{"eos_token", &vocab.eos}}) {
        if (!config.contains(key)) continue;
        if (const int32_t found = vocab.find(token_text(config[key])); found >= 0) *id = found;
    }
    if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
        vocab.add_bos = config["add_bos_token"].get<bool>();
        vocab.add_bos_given = true;
    }
    if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean())
        vocab.add_eos = config["add_eos_token"].get<bool>();
    if (config.contains("chat_template")) vocab.chat_template = chat_template_text(config["chat_template"]);
    return {};
}

Result<std::string> sibling_tokenizer_config(const std::string& vocabulary_file) {
    const std::filesystem::path path = std::filesystem::path(vocabulary_file).parent_path() / "tokenizer_config.json";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::string();
    return read_text_file(path.string(), size_t{64} << 20);
}

Status apply_chat_template_file(const std::string& dir, Vocabulary& vocab) {
    const std::filesystem::path path = std::filesystem::path(dir) / "chat_template.jinja";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return {};
    TERN_ASSIGN_OR_RETURN(vocab.chat_template, read_text_file(path.string(), size_t{4} << 20));
    return {};
}

}  // namespace tern::tokenizer

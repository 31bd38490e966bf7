#include "tokenizer/pre_tokenizers.h"

#include <array>

namespace tern::tokenizer {
namespace {

// The patterns as the models' own tokenizer.json files write them (docs/tokenizers.md §2.2 for
// Llama 3); a test checks each against the real files and their reference tokenizations.
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Qwen 2 / 2.5 / 3: Llama 3's, but digits one at a time.
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// DeepSeek V3: up to three digits, runs of CJK ideographs and kana, then words and punctuation.
constexpr std::string_view kDeepSeekV3Digits = R"(\p{N}{1,3})";
constexpr std::string_view kDeepSeekV3Cjk = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+";
constexpr std::string_view kDeepSeekV3Words =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// GPT-4o (tiktoken's o200k): case-aware words with their contractions, up to three digits,
// punctuation runs keeping a trailing newline or slash. It matches every character, so keeping
// only its matches (as the tokenizer.json says) and isolating them cut text the same way.
constexpr std::string_view kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct Entry {
    std::string_view name;
    std::array<std::string_view, 6> aliases;   // GGUF names; empty slots unused
    std::array<std::string_view, 3> patterns;
    bool ignore_merges;
};

constexpr std::array<Entry, 5> kEntries = {{
    {"llama3", {"llama3", "llama-bpe", "llama-v3", "falcon3", "falcon_e", ""}, {kLlama3, "", ""}, true},
    {"gpt-2", {"gpt-2", "gpt2", "", "", "", ""}, {kGpt2, "", ""}, false},
    {"qwen2", {"qwen2", "", "", "", "", ""}, {kQwen2, "", ""}, false},
    {"deepseek-v3", {"deepseek-v3", "", "", "", "", ""}, {kDeepSeekV3Digits, kDeepSeekV3Cjk, kDeepSeekV3Words}, false},
    {"gpt-4o", {"gpt-4o", "", "", "", "", ""}, {kGpt4o, "", ""}, false},
}};

PreTokenizer make(const Entry& e) {
    PreTokenizer p{.name = std::string(e.name), .patterns = {}, .ignore_merges = e.ignore_merges};
    for (std::string_view pattern : e.patterns)
        if (!pattern.empty()) p.patterns.emplace_back(pattern);
    return p;
}

}  // namespace

std::optional<PreTokenizer> pre_tokenizer_by_name(std::string_view name) {
    for (const Entry& e : kEntries)
        for (std::string_view alias : e.aliases)
            if (!alias.empty() && alias == name) return make(e);
    return std::nullopt;
}

std::optional<PreTokenizer> pre_tokenizer_by_patterns(const std::vector<std::string>& patterns) {
    for (const Entry& e : kEntries)
        if (PreTokenizer p = make(e); p.patterns == patterns) return p;
    return std::nullopt;
}

std::string_view gpt2_pattern() { return kGpt2; }

std::string pre_tokenizer_names() {
    std::string names;
    for (const Entry& e : kEntries)
        for (std::string_view alias : e.aliases)
            if (!alias.empty()) names += (names.empty() ? "" : ", ") + std::string(alias);
    return names;
}

}  // namespace tern::tokenizer

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

// The names below are llama.cpp's for GGUF files converted from models whose tokenizer.json
// spells the rules as a chain of pre-tokenizers (Punctuation, Digits, ByteLevel, Split): each
// pattern cuts every piece of the one before it, keeping matches and the text between them.
// Falcon: punctuation runs first, then GPT-2's words, then runs of three ASCII digits.
constexpr std::string_view kFalconPunctuation = R"([\p{P}\$\+<=>\^~\|`]+)";
constexpr std::string_view kGpt2Words = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr std::string_view kThreeAsciiDigits = "[0-9][0-9][0-9]";
// StarCoder, Refact, SmolLM, CodeShell, EXAONE, Command R, Minerva: every digit alone, then GPT-2's words.
constexpr std::string_view kEachDigit = R"(\p{N})";
// DeepSeek LLM and Coder: line breaks alone, then words (DeepSeek LLM spells its letters out
// as ranges), punctuation, CJK and Hangul runs, and digits.
constexpr std::string_view kLineBreak = "[\r\n]";
constexpr std::string_view kDeepSeekLlmLetters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5"
    "\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba"
    "\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45"
    "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe"
    "\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc"
    "\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134"
    "\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee"
    "\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf"
    "\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3"
    "\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
    "\U0001e900-\U0001e943]+";
constexpr std::string_view kDeepSeekLlmPunctuation = "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+";
constexpr std::string_view kTrailingSpace = R"(\s+$)";
constexpr std::string_view kCjkHangul = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";
constexpr std::string_view kDigitRuns = R"(\p{N}+)";
constexpr std::string_view kDeepSeekCoderLetters = R"(\s?\p{L}+)";
constexpr std::string_view kDeepSeekCoderPunctuation = R"(\s?\p{P}+)";

struct Entry {
    std::string_view name;
    std::array<std::string_view, 8> aliases;   // GGUF names; empty slots unused
    std::array<std::string_view, 6> patterns;
    bool ignore_merges;
};

constexpr std::array<Entry, 9> kEntries = {{
    {"llama3", {"llama3", "llama-bpe", "llama-v3", "falcon3", "falcon_e"}, {kLlama3}, true},
    {"gpt-2", {"gpt-2", "gpt2", "mpt", "olmo", "phi-2", "jais"}, {kGpt2}, false},
    {"qwen2", {"qwen2", "stablelm2", "megrez", "deepseek-r1-qwen"}, {kQwen2}, false},
    {"deepseek-v3", {"deepseek-v3"}, {kDeepSeekV3Digits, kDeepSeekV3Cjk, kDeepSeekV3Words}, false},
    {"gpt-4o", {"gpt-4o"}, {kGpt4o}, false},
    {"falcon", {"falcon"}, {kFalconPunctuation, kGpt2Words, kThreeAsciiDigits}, false},
    {"starcoder", {"starcoder", "refact", "smollm", "codeshell", "exaone", "command-r", "minerva-7b"},
     {kEachDigit, kGpt2Words}, false},
    {"deepseek-llm", {"deepseek-llm"},
     {kLineBreak, kDeepSeekLlmLetters, kDeepSeekLlmPunctuation, kTrailingSpace, kCjkHangul, kDigitRuns}, false},
    {"deepseek-coder", {"deepseek-coder"},
     {kLineBreak, kDeepSeekCoderLetters, kDeepSeekCoderPunctuation, kCjkHangul, kEachDigit}, false},
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

// Byte-level BPE pre-tokenizers: how text is cut into words before merging. A pre-tokenizer is
// a list of regexes applied in turn, each isolating its matches (Hugging Face's Split with
// "Isolated": the matches and the text between them become separate words), plus whether a
// word that is itself a token skips the merges (Llama 3). GGUF files name theirs
// (tokenizer.ggml.pre); tokenizer.json files spell the regexes out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::tokenizer {

struct PreTokenizer {
    std::string name;                    // its group ("llama3", "gpt-2", "qwen2", ...), or "tokenizer.json"
    std::vector<std::string> patterns;   // PCRE2 syntax, applied in order
    bool ignore_merges = false;
    // BPE over SentencePiece's alphabet rather than GPT-2's bytes (Gemma 4): spaces become U+2581
    // before the split, words stay UTF-8, and a symbol that is no token falls back to <0xXX>
    // byte tokens; a word of line breaks that is itself a token is taken whole.
    bool sentencepiece_alphabet = false;
};

// The pre-tokenizer a GGUF names (llama.cpp's names, aliases included); nothing if unknown.
std::optional<PreTokenizer> pre_tokenizer_by_name(std::string_view name);

// The known one with exactly these patterns (a tokenizer.json that spells out Llama 3's), if any.
std::optional<PreTokenizer> pre_tokenizer_by_patterns(const std::vector<std::string>& patterns);

// Patterns the named pre-tokenizers share with tokenizer.json's steps: every numeric character
// alone or in runs (Hugging Face's Digits, char::is_numeric), and one punctuation mark, ASCII's
// or Unicode's P categories (its Punctuation, and Chameleon's rules).
inline constexpr std::string_view kEachDigit = R"(\p{N})";
inline constexpr std::string_view kDigitRuns = R"(\p{N}+)";
inline constexpr std::string_view kPunctuationMark = R"([\p{P}!-/:-@\[-`{-~])";

// GPT-2's pattern: what a ByteLevel step with use_regex splits by.
std::string_view gpt2_pattern();

// A pattern that begins with this keeps only its matches and drops the text between them
// (Hugging Face's Split with behavior "Removed" and invert, as the GPT-4 / GPT-4o tokenizer.json
// files write it) instead of isolating both. Being a PCRE comment, the marker leaves the regex
// as it was, and it travels with the pattern into the GGUF files tern writes.
inline constexpr std::string_view kMatchesOnlyMarker = "(?#tern:matches-only)";

// "llama-bpe, llama3, ..., deepseek-v3", for messages.
std::string pre_tokenizer_names();

}  // namespace tern::tokenizer

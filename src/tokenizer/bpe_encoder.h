// Byte-level BPE (GPT-2, Llama 3, Qwen 2, DeepSeek V3; llama.cpp `llm_tokenizer_bpe`): the text
// (NFC-normalised when the tokenizer says so) is split into words by the vocabulary's
// pre-tokenizer regexes (tokenizer/pre_tokenizers.h; PCRE2, UTF + UCP, JIT), each word's bytes
// are mapped to GPT-2's byte alphabet, and the adjacent pair with the lowest merge rank is
// merged until none is left (ties: leftmost). Llama 3 first takes a whole word that is
// itself a token (ignore_merges).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tern/status.h"
#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {

class BpeEncoder {
public:
    // Errors: a pre-tokenizer tern does not know, a malformed merge.
    static Result<std::unique_ptr<BpeEncoder>> create(const Vocabulary& vocab);
    ~BpeEncoder();

    // `vocab` must be the vocabulary given to create().
    void encode(const Vocabulary& vocab, std::string_view text, std::vector<int32_t>& out) const;
    // "llama3", "gpt-2", "qwen2", ...: the pre-tokenizer in use (for messages and tests).
    const std::string& pre_tokenizer() const { return pre_; }
    // Tokens are SentencePiece pieces (U+2581 for a space, <0xXX> bytes), not GPT-2's alphabet.
    bool sentencepiece_alphabet() const { return sentencepiece_alphabet_; }

private:
    struct Regex;
    BpeEncoder(std::string pre, std::vector<std::unique_ptr<Regex>> regexes, bool ignore_merges,
               TextNormalization normalization, bool sentencepiece_alphabet);
    void split(const Regex& regex, std::string_view text, std::vector<std::string_view>& words) const;
    void encode_word(const Vocabulary& vocab, std::string_view word, std::vector<int32_t>& out) const;

    std::string pre_;
    std::vector<std::unique_ptr<Regex>> regexes_;   // applied in turn (tokenizer/pre_tokenizers.h)
    bool ignore_merges_;
    TextNormalization normalization_;
    bool sentencepiece_alphabet_;
    std::unordered_map<std::string, int32_t> rank_;   // "left right" -> rank
};

}  // namespace tern::tokenizer

// Byte-level BPE (GPT-2 / Llama-3, llama.cpp `llm_tokenizer_bpe`): the text is split into
// words by the vocabulary's pre-tokenizer regex (PCRE2, UTF + UCP, JIT), each word's bytes
// are mapped to GPT-2's byte alphabet, and the adjacent pair with the lowest merge rank is
// merged until none is left (ties: leftmost). Llama-3 first takes a whole word that is
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
    // "llama3" or "gpt-2": the regex family in use (for messages and tests).
    const std::string& pre_tokenizer() const { return pre_; }

private:
    struct Regex;
    BpeEncoder(std::string pre, std::unique_ptr<Regex> regex, bool ignore_merges);
    void encode_word(const Vocabulary& vocab, std::string_view word, std::vector<int32_t>& out) const;

    std::string pre_;
    std::unique_ptr<Regex> regex_;
    bool ignore_merges_;
    std::unordered_map<std::string, int32_t> rank_;   // "left right" -> rank
};

}  // namespace tern::tokenizer

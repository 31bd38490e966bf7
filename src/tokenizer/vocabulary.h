// A tokenizer's vocabulary as stored in GGUF metadata (tokenizer.ggml.*): token texts, SPM
// scores, token types, special ids and encoding flags, validated once (ids in range, array
// lengths consistent) so the tokenizers can index without checks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "format/gguf_reader.h"
#include "tern/status.h"
#include "tokenizer/unicode_normalization.h"

namespace tern::tokenizer {

enum class TokenType : int32_t {
    kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

enum class VocabKind { kSpm, kBpe };

struct Vocabulary {
    VocabKind kind = VocabKind::kSpm;
    std::string pre;                       // BPE pre-tokenizer name ("" when absent)
    // BPE from tokenizer.json: the pre-tokenizer's regexes as the file spells them (empty: by
    // `pre`'s name), whether whole-word tokens skip the merges, and the normalizer's steps.
    std::vector<std::string> pre_patterns;
    bool pre_ignore_merges = false;
    TextNormalization normalization;
    std::vector<std::string> tokens;       // text by id
    std::vector<float> scores;             // SPM merge priority (higher first)
    std::vector<TokenType> types;
    std::vector<std::string> merges;       // BPE "left right", index = rank
    int32_t bos = -1, eos = -1, unk = -1, eot = -1;
    bool add_bos = false, add_eos = false, add_space_prefix = false;
    bool add_bos_given = false;            // the file sets add_bos explicitly
    std::vector<int32_t> end_of_generation;   // eos, eot and known end-of-turn tokens
    // Added tokens that take the white space before (lstrip) or after (rstrip) them into their
    // match (tokenizer.json added_tokens), sorted.
    std::vector<int32_t> lstrip_tokens, rstrip_tokens;
    // The model's own Jinja chat template (tokenizer.chat_template; tokenizer_config.json's
    // chat_template), kept so that converted files carry it. tern's chat uses its built-in
    // templates (chat_template.h); "" when the source has none.
    std::string chat_template;

    std::unordered_map<std::string_view, int32_t> id_by_text;   // views into `tokens`
    std::vector<int32_t> byte_tokens;      // SPM: id of <0xNN>, or -1
    bool spm_tokens_stay_in_words = false; // SPM: no token has U+2581 right after another character

    int32_t find(std::string_view text) const {
        auto it = id_by_text.find(text);
        return it == id_by_text.end() ? -1 : it->second;
    }
    size_t size() const { return tokens.size(); }
    bool is_end_of_generation(int32_t id) const;
};

// Errors: no tokenizer.ggml.model, an unsupported model kind, arrays of the wrong type or
// length, special ids outside the vocabulary.
Result<Vocabulary> vocabulary_from_gguf(const format::GgufContents& gguf);

// Fills id_by_text, byte_tokens and end_of_generation from the other fields.
void index_vocabulary(Vocabulary& vocab);

}  // namespace tern::tokenizer

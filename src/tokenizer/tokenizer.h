// Text <-> token ids for a model's vocabulary: special tokens are split out first (when
// allowed), each plain fragment goes through the vocabulary's own algorithm (SentencePiece or
// byte-level BPE), and decoding is byte-exact.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/gguf_reader.h"
#include "tokenizer/bpe_encoder.h"
#include "tokenizer/vocabulary.h"

namespace tern::tokenizer {

class Tokenizer {
public:
    static Result<Tokenizer> from_gguf(const format::GgufContents& gguf);
    static Result<Tokenizer> from_vocabulary(Vocabulary vocab);

    // add_special: BOS/EOS as the vocabulary asks; parse_special: control-token texts in
    // `text` become their ids (user-defined tokens are always matched).
    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
    // Encodes the concatenation of `parts` as one text, but parses special-token texts only in
    // the parts whose flag is true (template text, as opposed to what a user typed).
    std::vector<int32_t> encode_parts(const std::vector<std::pair<std::string_view, bool>>& parts,
                                      bool add_special) const;
    // The bytes of one token; control tokens are empty unless `special`.
    std::string piece(int32_t id, bool special = false) const;
    std::string decode(std::span<const int32_t> ids, bool special = false) const;

    const Vocabulary& vocab() const { return vocab_; }

private:
    struct Fragment {
        int32_t id;         // >= 0: a special token
        std::string text;   // plain text otherwise
    };
    Tokenizer(Vocabulary vocab, std::unique_ptr<BpeEncoder> bpe);
    std::vector<Fragment> split_specials(std::string_view text, bool parse_special) const;
    std::vector<int32_t> encode_fragments(const std::vector<Fragment>& fragments, bool add_special) const;
    void encode_fragment(std::string_view text, bool first_or_after_special, std::vector<int32_t>& out) const;

    Vocabulary vocab_;
    std::unique_ptr<BpeEncoder> bpe_;               // null for SentencePiece vocabularies
    std::vector<int32_t> specials_longest_first_;   // control, user-defined and unknown tokens
};

// Turns a stream of ids into text that never ends inside a UTF-8 sequence: bytes of an
// incomplete character are held back until the tokens that complete it arrive.
class StreamingDecoder {
public:
    explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
    std::string push(int32_t id);
    std::string flush();   // whatever is held back, e.g. at the end of generation

private:
    const Tokenizer& tokenizer_;
    std::string pending_;
};

}  // namespace tern::tokenizer

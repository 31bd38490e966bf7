// The normalizer steps that byte-level tokenizers ask for (tokenizer.json "normalizer": NFC,
// NFKC, Strip, and Sequences of them), on valid UTF-8. The normalisation forms are utf8proc's
// (Debian's libutf8proc-dev), which follows the Unicode standard's tables.
#pragma once

#include <string>
#include <string_view>

namespace tern::tokenizer {

// NFC and NFKC of valid UTF-8 (tokenizer::sanitize_utf8's output); NUL bytes are kept.
std::string nfc(std::string_view valid_utf8);
std::string nfkc(std::string_view valid_utf8);

// The text without its leading and/or trailing Unicode white space (the White_Space property,
// as Rust's char::is_whitespace, which Hugging Face's Strip uses).
std::string_view strip_white_space(std::string_view valid_utf8, bool left, bool right);

struct TextNormalization {
    bool nfc = false;
    bool nfkc = false;
    bool strip_left = false;
    bool strip_right = false;
    // The Strip comes before the normal form in the file's Sequence. The order matters: NFKC
    // turns some characters into a space and a combining mark (U+00A8 diaeresis, U+203E
    // overline, ...), which a Strip after it removes and one before it keeps.
    bool strip_first = false;

    bool any() const { return nfc || nfkc || strip_left || strip_right; }
    std::string apply(std::string_view valid_utf8) const;
    bool operator==(const TextNormalization&) const = default;
};

}  // namespace tern::tokenizer

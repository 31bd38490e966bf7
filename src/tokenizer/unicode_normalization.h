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

    bool any() const { return nfc || nfkc || strip_left || strip_right; }
    // The composition first, then the strip: in every order a Sequence can give them, the
    // result is the same (NFKC maps white space only to white space).
    std::string apply(std::string_view valid_utf8) const;
    bool operator==(const TextNormalization&) const = default;
};

}  // namespace tern::tokenizer

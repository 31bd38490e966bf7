// Small UTF-8 helpers shared by the tokenizers and the streaming decoder.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tern::tokenizer {

// Length of the sequence a lead byte announces (1 for ASCII and for stray continuation bytes,
// as llama.cpp counts them).
inline size_t utf8_sequence_length(unsigned char lead) {
    static constexpr size_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return kLengths[lead >> 4];
}

// Bytes at the end of `text` that start an incomplete UTF-8 sequence (0 when complete).
size_t incomplete_utf8_suffix(std::string_view text);

// Replaces each byte that does not belong to a valid UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF included) by U+FFFD, as llama.cpp does.
std::string sanitize_utf8(std::string_view text);

// The code point starting at byte `pos` of `s` (pos < s.size()) and its length in bytes; U+FFFD
// and length 1 for a byte that does not start a well-formed sequence.
char32_t decode_utf8_at(std::string_view s, size_t pos, size_t& length);

// Appends code point `cp` (< 0x110000) as UTF-8.
void append_utf8(std::string& out, char32_t cp);

}  // namespace tern::tokenizer

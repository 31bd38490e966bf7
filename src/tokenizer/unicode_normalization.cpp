#include "tokenizer/unicode_normalization.h"

#include <utf8proc.h>

#include <cstdlib>

#include "tokenizer/utf8.h"

namespace tern::tokenizer {
namespace {

std::string map_utf8(std::string_view valid_utf8, utf8proc_option_t options) {
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(valid_utf8.data()),
                                            static_cast<utf8proc_ssize_t>(valid_utf8.size()), &mapped, options);
    // Only invalid UTF-8 or memory exhaustion fail; the text is valid, so keep it as it is then.
    if (n < 0) return std::string(valid_utf8);
    std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
    std::free(mapped);
    return out;
}

bool is_white_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace

std::string nfc(std::string_view valid_utf8) {
    return map_utf8(valid_utf8, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
}

std::string nfkc(std::string_view valid_utf8) {
    return map_utf8(valid_utf8, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
}

// A stray byte decodes to U+FFFD, which is not white space: it is never stripped.
std::string_view strip_white_space(std::string_view s, bool left, bool right) {
    size_t begin = 0, end = s.size(), length = 0;
    while (left && begin < end && is_white_space(decode_utf8_at(s, begin, length))) begin += length;
    if (right) {
        // The last code point's start: step back over continuation bytes.
        while (end > begin) {
            size_t start = end - 1;
            while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
            if (!is_white_space(decode_utf8_at(s, start, length))) break;
            end = start;
        }
    }
    return s.substr(begin, end - begin);
}

std::string TextNormalization::apply(std::string_view valid_utf8) const {
    const auto compose = [this](std::string_view text) {
        return nfkc ? tokenizer::nfkc(text) : nfc ? tokenizer::nfc(text) : std::string(text);
    };
    if (strip_first) return compose(strip_white_space(valid_utf8, strip_left, strip_right));
    return std::string(strip_white_space(compose(valid_utf8), strip_left, strip_right));
}

}  // namespace tern::tokenizer

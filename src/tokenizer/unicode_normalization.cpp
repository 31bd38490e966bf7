#include "tokenizer/unicode_normalization.h"

#include <utf8proc.h>

#include <cstdlib>

namespace tern::tokenizer {

std::string nfc(std::string_view valid_utf8) {
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(valid_utf8.data()),
                     static_cast<utf8proc_ssize_t>(valid_utf8.size()), &mapped,
                     static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    // Only invalid UTF-8 or memory exhaustion fail; the text is valid, so keep it as it is then.
    if (n < 0) return std::string(valid_utf8);
    std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
    std::free(mapped);
    return out;
}

}  // namespace tern::tokenizer

// Unicode normalisation forms that tokenizers ask for (tokenizer.json "normalizer": NFC), by
// utf8proc (Debian's libutf8proc-dev), which follows the Unicode standard's tables.
#pragma once

#include <string>
#include <string_view>

namespace tern::tokenizer {

// NFC of valid UTF-8 (tokenizer::sanitize_utf8's output); NUL bytes are kept.
std::string nfc(std::string_view valid_utf8);

}  // namespace tern::tokenizer

// GPT-2's reversible byte <-> Unicode mapping used by byte-level BPE vocabularies: printable
// bytes map to themselves, the other 68 to U+0100.. in increasing byte order.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::tokenizer {

// UTF-8 of the character byte b maps to.
const std::array<std::string, 256>& byte_to_unicode();

// Appends the bytes a mapped string stands for; characters outside the mapping are copied
// unchanged (only hand-written vocabularies contain them).
void unmap_bytes(std::string_view mapped, std::string& out);

}  // namespace tern::tokenizer

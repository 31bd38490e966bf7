// Builds error messages and report lines: str_cat concatenates anything streamable, hex()
// and quote() format offsets and untrusted strings (GCC 12 has no <format>).
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace tern {

template <class... Parts>
std::string str_cat(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}

// "0x3a1000"
std::string hex(uint64_t value);

// Untrusted text made safe for one terminal line: control bytes, quotes, backslashes and
// DEL escaped, and at most max_bytes of the input shown (then "... (N bytes)").
std::string escaped(std::string_view text, size_t max_bytes = 96);
// The same, in single quotes: 'blk.0.attn_q.weight'.
std::string quote(std::string_view text, size_t max_bytes = 96);

// "8,030,261,248"
std::string with_commas(uint64_t value);

// "1.50 GiB", "812 KiB", "17 B"
std::string human_bytes(uint64_t bytes);

}  // namespace tern

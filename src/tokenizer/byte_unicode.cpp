#include "tokenizer/byte_unicode.h"

#include "tokenizer/utf8.h"

namespace tern::tokenizer {
namespace {

bool printable(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

struct Tables {
    std::array<std::string, 256> to_unicode;
    std::array<int16_t, 0x144> to_byte;   // code points 0 .. U+0143
    Tables() {
        to_byte.fill(-1);
        int next = 0x100;
        for (int b = 0; b < 256; ++b) {
            const int cp = printable(b) ? b : next++;
            append_utf8(to_unicode[b], static_cast<char32_t>(cp));
            to_byte[cp] = static_cast<int16_t>(b);
        }
    }
};

const Tables& tables() {
    static const Tables t;
    return t;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() { return tables().to_unicode; }

void unmap_bytes(std::string_view mapped, std::string& out) {
    const Tables& t = tables();
    for (size_t i = 0; i < mapped.size();) {
        const size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(mapped[i])), mapped.size() - i);
        char32_t cp = 0;
        if (len == 1) {
            cp = static_cast<unsigned char>(mapped[i]);
        } else if (len == 2) {
            cp = ((mapped[i] & 0x1F) << 6) | (mapped[i + 1] & 0x3F);
        } else {
            cp = 0x10000;   // outside the table
        }
        if (cp < t.to_byte.size() && t.to_byte[cp] >= 0)
            out += static_cast<char>(t.to_byte[cp]);
        else
            out.append(mapped.substr(i, len));
        i += len;
    }
}

}  // namespace tern::tokenizer

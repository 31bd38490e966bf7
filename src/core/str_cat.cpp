#include "core/str_cat.h"

#include <cstdio>

namespace tern {

std::string hex(uint64_t value) {
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
    return buffer;
}

std::string quote(std::string_view text, size_t max_bytes) {
    const size_t shown = text.size() < max_bytes ? text.size() : max_bytes;
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "'" + std::string.
    std::string out;
    out += '\'';
    out += escaped(text.substr(0, shown), shown);
    out += '\'';
    if (shown < text.size()) out += str_cat("... (", text.size(), " bytes)");
    return out;
}

std::string escaped(std::string_view text, size_t max_bytes) {
    std::string out;
    const size_t shown = text.size() < max_bytes ? text.size() : max_bytes;
    for (size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\'' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
            out += buffer;
        } else {
            // Bytes >= 0x80 pass through: they are usually UTF-8 and a terminal shows them.
            out += static_cast<char>(c);
        }
    }
    if (shown < text.size()) out += str_cat("... (", text.size(), " bytes)");
    return out;
}

std::string with_commas(uint64_t value) {
    const std::string digits = std::to_string(value);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string human_bytes(uint64_t bytes) {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
        value /= 1024.0;
        ++unit;
    }
    char buffer[32];
    if (unit == 0) {
        std::snprintf(buffer, sizeof buffer, "%llu B", static_cast<unsigned long long>(bytes));
    } else {
        std::snprintf(buffer, sizeof buffer, "%.2f %s", value, kUnits[unit]);
    }
    return buffer;
}

}  // namespace tern

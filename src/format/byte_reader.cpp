#include "format/byte_reader.h"

#include "core/str_cat.h"

namespace tern::format {

Result<std::span<const std::byte>> ByteReader::read_bytes(std::string_view what, uint64_t n) {
    if (remaining() < n) return fail(what, n);
    const auto view = bytes_.subspan(offset_, static_cast<size_t>(n));
    offset_ += static_cast<size_t>(n);
    return view;
}

Result<std::string_view> ByteReader::read_string(std::string_view what, uint64_t max_len) {
    const size_t start = offset_;
    TERN_ASSIGN_OR_RETURN(const uint64_t length, read<uint64_t>(what));
    if (length > max_len) {
        offset_ = start;
        return error_here(what, str_cat("length ", length, " exceeds the limit of ", max_len, " bytes"));
    }
    auto body = read_bytes(what, length);
    if (!body.ok()) {
        offset_ = start;
        return error_here(what, str_cat("length ", length, " runs past end of file (",
                                        remaining() >= 8 ? remaining() - 8 : 0, " bytes left)"));
    }
    return std::string_view(reinterpret_cast<const char*>(body.value().data()), body.value().size());
}

Status ByteReader::seek(uint64_t absolute_offset, std::string_view what) {
    if (absolute_offset < offset_ || absolute_offset > bytes_.size()) {
        return Error(str_cat(source_name_, ": ", what, " at offset ", hex(absolute_offset),
                             " lies outside the file (", hex(bytes_.size()), " bytes)"));
    }
    offset_ = static_cast<size_t>(absolute_offset);
    return {};
}

Error ByteReader::error_here(std::string_view what, std::string_view detail) const {
    return Error(str_cat(source_name_, ": ", what, " at offset ", hex(offset_), ": ", detail));
}

Error ByteReader::fail(std::string_view what, uint64_t needed) const {
    return error_here(what, str_cat("needs ", needed, " bytes, ", remaining(), " left (truncated file?)"));
}

}  // namespace tern::format

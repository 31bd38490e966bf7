// The one way parsers read untrusted bytes: a cursor that cannot run past the end and whose
// errors say what was being read, at which offset, how much it needed and how much was left.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "tern/status.h"

namespace tern::format {

static_assert(std::endian::native == std::endian::little,
              "file formats are little-endian and read by memcpy");

class ByteReader {
public:
    ByteReader(std::span<const std::byte> bytes, std::string_view source_name)
        : bytes_(bytes), source_name_(source_name) {}

    template <class T>
        requires std::is_trivially_copyable_v<T>
    Result<T> read(std::string_view what) {
        if (remaining() < sizeof(T)) return fail(what, sizeof(T));
        T value;
        std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
        offset_ += sizeof(T);
        return value;
    }

    // A view of the next n bytes (not copied); fails without moving if fewer remain.
    Result<std::span<const std::byte>> read_bytes(std::string_view what, uint64_t n);

    // A u64 length then that many bytes (GGUF strings). max_len caps hostile lengths.
    Result<std::string_view> read_string(std::string_view what, uint64_t max_len);

    // Skips forward to an absolute offset not before the current one and not past the end.
    Status seek(uint64_t absolute_offset, std::string_view what);

    size_t offset() const { return offset_; }
    size_t remaining() const { return bytes_.size() - offset_; }
    std::string_view source_name() const { return source_name_; }

    // "<source>: <what> at offset 0x..: <detail>"
    Error error_here(std::string_view what, std::string_view detail) const;

private:
    Error fail(std::string_view what, uint64_t needed) const;

    std::span<const std::byte> bytes_;
    std::string_view source_name_;
    size_t offset_ = 0;
};

}  // namespace tern::format

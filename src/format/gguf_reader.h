// GGUF v2/v3 reader over bytes that stay where they are (normally a read-only memory map).
// Every count, length, offset, dimension product and type id is validated before use, so
// any byte sequence yields either a fully checked GgufContents or a one-line Error.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "format/ggml_types.h"
#include "format/gguf_value.h"
#include "tern/status.h"

namespace tern::format {

inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr uint32_t kGgufMaxAlignment = 1u << 20;    // ggml's cap against padding bombs
inline constexpr uint64_t kGgufMaxStringBytes = 1ull << 30;
inline constexpr uint64_t kGgufMaxKeyBytes = 65535;        // spec limit for keys
inline constexpr uint64_t kGgufMaxTensorNameBytes = 63;    // ggml: name + NUL fits 64 bytes
inline constexpr uint64_t kGgufMaxArrayElems = 1ull << 30;
inline constexpr uint32_t kGgufMaxDims = 4;

struct GgufKv {
    std::string key;
    GgufValue value;
};

struct GgufTensorInfo {
    std::string name;
    uint32_t n_dims = 0;
    std::array<uint64_t, 4> ne{1, 1, 1, 1};   // ne[0] is the row length (fastest dimension)
    GgmlTypeTraits traits{};
    uint64_t offset = 0;        // from the start of the data section, a multiple of alignment
    uint64_t n_elements = 0;
    uint64_t n_bytes = 0;       // exact payload size (I2_S/TL1 include their 32-byte trailer)
};

class GgufContents {
public:
    uint32_t version = 0;
    uint64_t alignment = kGgufDefaultAlignment;
    uint64_t data_offset = 0;        // absolute file offset of the data section
    std::vector<GgufKv> metadata;    // in file order
    std::vector<GgufTensorInfo> tensors;   // in file order

    const GgufValue* find(std::string_view key) const;
    const GgufTensorInfo* find_tensor(std::string_view name) const;
    // The tensor's payload; valid while the bytes given to parse_gguf live.
    std::span<const std::byte> tensor_data(const GgufTensorInfo& tensor) const;
    // general.architecture, or "" when absent or not a string.
    std::string architecture() const;
    std::span<const std::byte> file_bytes() const { return file_bytes_; }

private:
    friend class GgufParser;
    std::span<const std::byte> file_bytes_;
    std::map<std::string, size_t, std::less<>> key_index_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
};

// source_name is used in error messages only (normally the path).
Result<GgufContents> parse_gguf(std::span<const std::byte> bytes, std::string_view source_name);

// A GGUF file mapped into memory and parsed. Moves keep tensor_data() spans valid.
class GgufFile {
public:
    static Result<GgufFile> open(const std::string& path);
    const GgufContents& contents() const { return contents_; }
    const std::string& path() const { return map_.path(); }
    const MappedFile& mapping() const { return map_; }

private:
    GgufFile(MappedFile map, GgufContents contents) : map_(std::move(map)), contents_(std::move(contents)) {}
    MappedFile map_;
    GgufContents contents_;
};

}  // namespace tern::format

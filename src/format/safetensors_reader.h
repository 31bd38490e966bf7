// safetensors reader: u64 header length, JSON header, then one byte buffer that the tensors
// tile exactly. Validated as strictly as the reference implementation (huggingface/
// safetensors tensor.rs) and more: duplicate JSON keys and excess nesting are errors too.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "tern/status.h"

namespace tern::format {

enum class SafetensorsDtype {
    kBool, kU8, kI8, kF8_E5M2, kF8_E4M3, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64, kCount,
};

std::string_view safetensors_dtype_name(SafetensorsDtype dtype);
size_t safetensors_dtype_size(SafetensorsDtype dtype);

inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

struct SafetensorsTensor {
    std::string name;
    SafetensorsDtype dtype = SafetensorsDtype::kF32;
    std::vector<uint64_t> shape;     // PyTorch order: the last dimension is contiguous
    uint64_t begin = 0;              // byte range in the data buffer
    uint64_t end = 0;
    uint64_t n_elements = 0;
};

class SafetensorsContents {
public:
    uint64_t data_offset = 0;                        // 8 + header length
    std::vector<SafetensorsTensor> tensors;          // sorted by name
    std::map<std::string, std::string> metadata;     // "__metadata__" (string -> string)

    const SafetensorsTensor* find(std::string_view name) const;
    // Valid while the bytes given to parse_safetensors live. Not necessarily aligned to the
    // element size (some writers do not pad the header): read with memcpy.
    std::span<const std::byte> tensor_data(const SafetensorsTensor& tensor) const;

private:
    friend Result<SafetensorsContents> parse_safetensors(std::span<const std::byte>, std::string_view);
    std::span<const std::byte> file_bytes_;
};

Result<SafetensorsContents> parse_safetensors(std::span<const std::byte> bytes, std::string_view source_name);

class SafetensorsFile {
public:
    static Result<SafetensorsFile> open(const std::string& path);
    const SafetensorsContents& contents() const { return contents_; }
    const std::string& path() const { return map_.path(); }

private:
    SafetensorsFile(MappedFile map, SafetensorsContents contents) : map_(std::move(map)), contents_(std::move(contents)) {}
    MappedFile map_;
    SafetensorsContents contents_;
};

}  // namespace tern::format

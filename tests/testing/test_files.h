// Small valid model files built in memory for tests, fuzz seeds and tools, plus helpers
// for temporary folders and the optional ../shared data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "format/ggml_types.h"
#include "format/gguf_writer.h"

namespace tern::testing {

// Deterministic pseudo-random floats in [-1, 1) (xorshift; same on every platform).
std::vector<float> random_floats(size_t n, uint64_t seed);

// Valid data for a tensor of `type` with n elements (n a multiple of the block size): made
// by tern's quantisers where it has one, else random bytes with finite fp16 scales.
std::vector<std::byte> sample_tensor_data(format::GgmlType type, size_t n, uint64_t seed);

// A GGUF with metadata of several types and three small tensors (F32, F16, TQ2_0).
std::vector<std::byte> make_tiny_gguf();
// A GgufWriter holding one tensor of every decodable type, 256 x 2 elements each.
format::GgufWriter make_all_types_writer();

// A safetensors file with __metadata__ and three tensors (F32 [2,3], BF16 [4], U8 [2,2]).
std::vector<std::byte> make_tiny_safetensors();
// Builds a safetensors file from a JSON header string and a data buffer, padding the
// header with spaces to a multiple of 8 as the reference writer does.
std::vector<std::byte> make_safetensors(const std::string& header_json, const std::vector<std::byte>& data);

void write_file(const std::filesystem::path& path, const std::vector<std::byte>& bytes);
void write_file(const std::filesystem::path& path, const std::string& text);
std::vector<std::byte> read_file(const std::filesystem::path& path);

// A fresh directory under the system temp dir, removed with everything in it on scope exit.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// ../shared next to the source tree, if present (tests that need it skip loudly otherwise).
std::optional<std::filesystem::path> shared_dir();

}  // namespace tern::testing

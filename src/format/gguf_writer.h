// Writes GGUF v3 files laid out exactly as ggml's own writer does: metadata and tensor infos
// in insertion order, zero padding to the alignment before the data section and after every
// tensor, tensor offsets equal to the running padded sum. ggml's reader demands that layout.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "format/ggml_types.h"
#include "format/gguf_value.h"
#include "tern/status.h"

namespace tern::format {

class GgufWriter {
public:
    // Errors: duplicate or empty key; general.alignment that is not a uint32 power of two.
    Status add_metadata(std::string key, GgufValue value);

    // dims are [ne0, ne1, ...] (1 to 4 entries, ne0 = row length). `data` must stay alive
    // until write_*() is called and must be exactly the size the type and shape imply.
    // Errors: duplicate or over-long name, bad shape, unknown type, size mismatch.
    Status add_tensor(std::string name, GgmlType type, std::span<const uint64_t> dims,
                      std::span<const std::byte> data);
    // Same, but the writer keeps the data.
    Status add_tensor(std::string name, GgmlType type, std::span<const uint64_t> dims,
                      std::vector<std::byte> data);
    // Same, but the data is produced while writing: `fill` gets a zeroed span of exactly the
    // tensor's size (in the output buffer itself, or a scratch buffer for a file), so a
    // generated multi-GB model is never held twice. `fill` must not fail; validate first.
    using TensorFiller = std::function<void(std::span<std::byte> dest)>;
    Status add_tensor(std::string name, GgmlType type, std::span<const uint64_t> dims, uint64_t n_bytes,
                      TensorFiller fill);

    std::vector<std::byte> write_to_buffer() const;
    // Writes to path + ".tmp" and renames, so a failed write never leaves a partial model.
    Status write_to_file(const std::string& path) const;

private:
    struct PendingTensor {
        std::string name;
        GgmlType type;
        uint32_t n_dims;
        std::array<uint64_t, 4> ne;
        uint64_t offset;
        std::span<const std::byte> data;   // empty when `fill` produces it
        uint64_t n_bytes;
        TensorFiller fill;
    };

    Status add_pending(std::string name, GgmlType type, std::span<const uint64_t> dims, uint64_t n_bytes,
                       std::span<const std::byte> data, TensorFiller fill);

    template <class Sink>
    void write_all(Sink& sink) const;

    uint64_t alignment_ = 32;
    uint64_t data_bytes_ = 0;   // padded size of the data section so far
    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::vector<PendingTensor> tensors_;
    std::vector<std::unique_ptr<std::vector<std::byte>>> owned_;
};

}  // namespace tern::format

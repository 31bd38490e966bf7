// The ggml tensor type table: ids as they appear in GGUF files, block geometry, and whether
// tern can decode the type. Ids follow upstream ggml except where bitnet.cpp's fork reused
// removed ids (36 = I2_S, 38 = TL1, 39 = TL2 vs upstream MXFP4); see docs/formats.md.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern::format {

enum class GgmlType : uint32_t {
    kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
    kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
    kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21,
    kIQ2_S = 22, kIQ4_XS = 23, kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28,
    kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35,
    kI2_S = 36,   // bitnet.cpp: 2-bit ternary, one f32 scale per tensor in a 32-byte trailer
    kTL1 = 38,    // bitnet.cpp lookup-table layout (tied to compiled kernels; not decodable)
    kMXFP4 = 39,  // upstream; bitnet.cpp's TL2 uses the same id (told apart by the reader)
    // tern's own types, far above any id ggml or its forks use (docs/formats.md):
    kTernC2 = 4096,   // complex {+1, +i, -1, -i} codes, 2 bits each, 4 per byte (PhaseQuant)
};

struct GgmlTypeTraits {
    GgmlType type;
    std::string_view name;
    uint32_t block_elems;      // elements per block along a row (ne0 must be a multiple)
    uint32_t block_bytes;      // bytes per block
    uint32_t trailer_bytes;    // bytes after all blocks, once per tensor (I2_S/TL1 scale)
    bool decodable;            // tern has a reference dequantiser for it
};

// nullopt for ids that are unknown, removed upstream (31-33, 37) or not supported (>= 40).
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id);

std::string ggml_type_name(uint32_t type_id);   // "Q4_K", or "type 57" for unknown ids

// Parses a name such as "tq2_0" or "Q8_0" (case-insensitive).
std::optional<GgmlType> ggml_type_from_name(std::string_view name);

// Bytes of a tensor with these element counts per dimension ([ne0, ne1, ne2, ne3]), or an
// error naming the rule that failed: ne0 not a multiple of the block, or size overflow.
Result<uint64_t> ggml_tensor_bytes(const GgmlTypeTraits& traits, const std::array<uint64_t, 4>& ne);

}  // namespace tern::format

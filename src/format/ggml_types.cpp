#include "format/ggml_types.h"

#include <algorithm>
#include <cctype>

#include "core/checked_math.h"
#include "core/str_cat.h"

namespace tern::format {
namespace {

// Sizes: ggml-common.h block structs (docs/formats.md §2-3). I2_S is described here with
// its x86 128-element group (32 bytes) so that rows start on group boundaries.
constexpr GgmlTypeTraits kTypes[] = {
    {GgmlType::kF32, "F32", 1, 4, 0, true},
    {GgmlType::kF16, "F16", 1, 2, 0, true},
    {GgmlType::kQ4_0, "Q4_0", 32, 18, 0, true},
    {GgmlType::kQ4_1, "Q4_1", 32, 20, 0, false},
    {GgmlType::kQ5_0, "Q5_0", 32, 22, 0, false},
    {GgmlType::kQ5_1, "Q5_1", 32, 24, 0, false},
    {GgmlType::kQ8_0, "Q8_0", 32, 34, 0, true},
    {GgmlType::kQ8_1, "Q8_1", 32, 36, 0, false},
    {GgmlType::kQ2_K, "Q2_K", 256, 84, 0, false},
    {GgmlType::kQ3_K, "Q3_K", 256, 110, 0, false},
    {GgmlType::kQ4_K, "Q4_K", 256, 144, 0, true},
    {GgmlType::kQ5_K, "Q5_K", 256, 176, 0, false},
    {GgmlType::kQ6_K, "Q6_K", 256, 210, 0, true},
    {GgmlType::kQ8_K, "Q8_K", 256, 292, 0, false},
    {GgmlType::kIQ2_XXS, "IQ2_XXS", 256, 66, 0, false},
    {GgmlType::kIQ2_XS, "IQ2_XS", 256, 74, 0, false},
    {GgmlType::kIQ3_XXS, "IQ3_XXS", 256, 98, 0, false},
    {GgmlType::kIQ1_S, "IQ1_S", 256, 50, 0, false},
    {GgmlType::kIQ4_NL, "IQ4_NL", 32, 18, 0, false},
    {GgmlType::kIQ3_S, "IQ3_S", 256, 110, 0, false},
    {GgmlType::kIQ2_S, "IQ2_S", 256, 82, 0, false},
    {GgmlType::kIQ4_XS, "IQ4_XS", 256, 136, 0, false},
    {GgmlType::kI8, "I8", 1, 1, 0, false},
    {GgmlType::kI16, "I16", 1, 2, 0, false},
    {GgmlType::kI32, "I32", 1, 4, 0, false},
    {GgmlType::kI64, "I64", 1, 8, 0, false},
    {GgmlType::kF64, "F64", 1, 8, 0, false},
    {GgmlType::kIQ1_M, "IQ1_M", 256, 56, 0, false},
    {GgmlType::kBF16, "BF16", 1, 2, 0, true},
    {GgmlType::kTQ1_0, "TQ1_0", 256, 54, 0, true},
    {GgmlType::kTQ2_0, "TQ2_0", 256, 66, 0, true},
    {GgmlType::kI2_S, "I2_S", 128, 32, 32, true},
    {GgmlType::kTL1, "TL1", 4, 1, 32, false},
    {GgmlType::kMXFP4, "MXFP4", 32, 17, 0, false},
    // Row-major codes (packed_complex.h's ComplexUnit), column 4j + i in bits 2i of byte j;
    // the tensor's two scales are a separate F32 tensor. Complex, so not a float decoding.
    {GgmlType::kTernC2, "TERN_C2", 4, 1, 0, false},
};

}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id) {
    for (const GgmlTypeTraits& traits : kTypes) {
        if (static_cast<uint32_t>(traits.type) == type_id) return traits;
    }
    return std::nullopt;
}

std::string ggml_type_name(uint32_t type_id) {
    const auto traits = ggml_type_traits(type_id);
    return traits ? std::string(traits->name) : str_cat("type ", type_id);
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
    for (const GgmlTypeTraits& traits : kTypes) {
        if (std::equal(name.begin(), name.end(), traits.name.begin(), traits.name.end(),
                       [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; })) {
            return traits.type;
        }
    }
    return std::nullopt;
}

Result<uint64_t> ggml_tensor_bytes(const GgmlTypeTraits& traits, const std::array<uint64_t, 4>& ne) {
    if (ne[0] % traits.block_elems != 0) {
        return Error(str_cat("row length ", ne[0], " is not a multiple of the ", traits.name,
                             " block size ", traits.block_elems));
    }
    std::optional<uint64_t> size = checked_mul(ne[0] / traits.block_elems, traits.block_bytes);
    for (size_t d = 1; d < ne.size() && size; ++d) size = checked_mul(*size, ne[d]);
    if (size) size = checked_add(*size, traits.trailer_bytes);
    if (!size) return Error(str_cat("size in bytes of shape [", ne[0], ", ", ne[1], ", ", ne[2], ", ", ne[3], "] overflows"));
    return *size;
}

}  // namespace tern::format

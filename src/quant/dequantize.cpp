#include "quant/dequantize.h"

#include <cstring>

#include "core/float16.h"
#include "core/str_cat.h"
#include "quant/block_formats.h"
#include "quant/ternary_formats.h"

namespace tern::quant {
namespace {

template <class Convert>
void dequantize_16bit(const std::byte* data, float* out, size_t n, Convert convert) {
    for (size_t i = 0; i < n; ++i) {
        uint16_t bits;
        std::memcpy(&bits, data + 2 * i, 2);
        out[i] = convert(bits);
    }
}

}  // namespace

Status dequantize(format::GgmlType type, std::span<const std::byte> data, std::span<float> out) {
    using format::GgmlType;
    const auto traits = format::ggml_type_traits(static_cast<uint32_t>(type));
    if (!traits || !traits->decodable) {
        return Error(str_cat("no dequantiser for ggml type ", format::ggml_type_name(static_cast<uint32_t>(type))));
    }
    auto expected = format::ggml_tensor_bytes(*traits, {out.size(), 1, 1, 1});
    if (!expected.ok()) return expected.error();
    if (expected.value() != data.size()) {
        return Error(str_cat(traits->name, ": ", data.size(), " bytes given for ", out.size(), " elements, expected ",
                             expected.value()));
    }
    const std::byte* in = data.data();
    const size_t n = out.size();
    switch (type) {
        case GgmlType::kF32: std::memcpy(out.data(), in, n * sizeof(float)); return {};
        case GgmlType::kF16: fp16_row_to_fp32(in, out.data(), n); return {};
        case GgmlType::kBF16: dequantize_16bit(in, out.data(), n, bf16_to_fp32); return {};
        case GgmlType::kQ8_0: dequantize_row_q8_0(in, out.data(), n); return {};
        case GgmlType::kQ4_0: dequantize_row_q4_0(in, out.data(), n); return {};
        case GgmlType::kQ4_K: dequantize_row_q4_k(in, out.data(), n); return {};
        case GgmlType::kQ6_K: dequantize_row_q6_k(in, out.data(), n); return {};
        case GgmlType::kTQ1_0: dequantize_row_tq1_0(in, out.data(), n); return {};
        case GgmlType::kTQ2_0: dequantize_row_tq2_0(in, out.data(), n); return {};
        case GgmlType::kI2_S: return dequantize_i2_s(data, out);
        default: return Error(str_cat("no dequantiser for ggml type ", traits->name));
    }
}

}  // namespace tern::quant

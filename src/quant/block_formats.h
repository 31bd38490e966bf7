// Scalar reference (de)quantisers for ggml's non-ternary block types: Q8_0, Q4_0 (32-element
// blocks), Q4_K, Q6_K (256-element super-blocks). Byte layouts: docs/formats.md §3.
// n is the element count, a multiple of the block size; buffers hold n/block blocks.
#pragma once

#include <cstddef>

namespace tern::quant {

inline constexpr size_t kQ8_0BlockElems = 32, kQ8_0BlockBytes = 34;
inline constexpr size_t kQ4_0BlockElems = 32, kQ4_0BlockBytes = 18;
inline constexpr size_t kQ4_KBlockElems = 256, kQ4_KBlockBytes = 144;
inline constexpr size_t kQ6_KBlockElems = 256, kQ6_KBlockBytes = 210;

void dequantize_row_q8_0(const std::byte* blocks, float* out, size_t n);
void dequantize_row_q4_0(const std::byte* blocks, float* out, size_t n);
void dequantize_row_q4_k(const std::byte* blocks, float* out, size_t n);
void dequantize_row_q6_k(const std::byte* blocks, float* out, size_t n);

// ggml's reference rules: Q8_0 d = amax/127, q = round(x/d); Q4_0 d = max/-8 where max is
// the element of largest magnitude, q = min(15, trunc(x/d + 8.5)).
void quantize_row_q8_0(const float* in, std::byte* blocks, size_t n);
void quantize_row_q4_0(const float* in, std::byte* blocks, size_t n);
// ggml's quantize_row_q6_K_ref, bit for bit: per 16 values the scale of least weighted (x^2)
// squared error over 19 trial grids, the 16 scales then quantised to int8 against one fp16
// super-block scale, and the values re-rounded to the scales as stored (docs/formats.md §3).
void quantize_row_q6_k(const float* in, std::byte* blocks, size_t n);

}  // namespace tern::quant

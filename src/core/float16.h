// IEEE binary16 and bfloat16 conversions, exact and portable (no F16C), so the scalar
// reference dequantisers give the same bits on every CPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern {

// Exact: every binary16 value (subnormals, infinities, NaN payloads) is representable in f32.
float fp16_to_fp32(uint16_t bits);
// Round to nearest, ties to even; overflow gives infinity; NaN stays NaN (quiet).
uint16_t fp32_to_fp16(float value);

// Exact: bf16 is the upper half of an f32.
float bf16_to_fp32(uint16_t bits);
// Round to nearest, ties to even on the discarded half; NaN keeps its top bits and is quieted.
uint16_t fp32_to_bf16(float value);

// n fp16 values stored little-endian at `in` (any alignment) to f32, the same bits as
// fp16_to_fp32 each; written without branches so that the loop vectorises (a 2B4T head is
// 328 million values to convert at load).
void fp16_row_to_fp32(const std::byte* in, float* out, size_t n);

// An fp16 stored little-endian at p (any alignment), as in ggml block scales.
float load_fp16(const std::byte* p);
void store_fp16(std::byte* p, float value);

}  // namespace tern

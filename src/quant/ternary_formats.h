// The three ternary storage layouts tern reads, with scalar reference (de)quantisers:
//   TQ2_0  256-element blocks, 2-bit codes + fp16 d at the end (66 bytes, 2.06 bpw)
//   TQ1_0  256-element blocks, base-3 packed, 5 trits per byte + fp16 d (54 bytes, 1.69 bpw)
//   I2_S   bitnet.cpp: 2-bit codes in 128-element groups, one f32 scale per tensor after the
//          codes (N/4 + 32 bytes in all)
// Bit layouts are in docs/formats.md §3.6-3.8. Codes 0,1,2 mean -1, 0, +1 times the scale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "tern/status.h"

namespace tern::quant {

inline constexpr size_t kTq2BlockElems = 256, kTq2BlockBytes = 66;
inline constexpr size_t kTq1BlockElems = 256, kTq1BlockBytes = 54;
inline constexpr size_t kI2sGroupElems = 128, kI2sTrailerBytes = 32;

// n is a multiple of 256. Quantisers follow llama.cpp's reference: d = max|x| per block,
// code = round(x/d) + 1.
void quantize_row_tq2_0(const float* in, std::byte* blocks, size_t n);
void dequantize_row_tq2_0(const std::byte* blocks, float* out, size_t n);
void quantize_row_tq1_0(const float* in, std::byte* blocks, size_t n);
void dequantize_row_tq1_0(const std::byte* blocks, float* out, size_t n);

// Raw codes (0..3; 0, 1, 2 mean -1, 0, +1) in element order: of one 256-element TQ2_0 or
// TQ1_0 block, and of one 128-element I2_S group (32 bytes).
void tq2_0_block_codes(const std::byte* block, uint8_t* codes);
void tq1_0_block_codes(const std::byte* block, uint8_t* codes);
void i2_s_group_codes(const std::byte* group, uint8_t* codes);

// The inverses: a block (TQ: with fp16 scale d) or I2_S group from its raw codes.
void tq2_0_block_from_codes(const uint8_t* codes, float d, std::byte* block);
void tq1_0_block_from_codes(const uint8_t* codes, float d, std::byte* block);
void i2_s_group_from_codes(const uint8_t* codes, std::byte* group);

// I2_S operates on whole tensors: `data` is N/4 + 32 bytes, N a multiple of 128.
// quantize: scale = max|x|; |x| < 1e-6 -> 0, else sign(x), as bitnet.cpp's quantize_i2_s.
size_t i2_s_tensor_bytes(size_t n_elements);
// The per-tensor scale from the trailer; `data` is i2_s_tensor_bytes(n_elements) bytes.
float i2_s_tensor_scale(std::span<const std::byte> data, size_t n_elements);
void quantize_i2_s(std::span<const float> in, std::span<std::byte> data);
// Errors: wrong buffer sizes, or a scale that is not a finite number >= 0.
Status dequantize_i2_s(std::span<const std::byte> data, std::span<float> out);

}  // namespace tern::quant

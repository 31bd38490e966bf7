// The block-quantised LM head kernels: Q8_0 weights (`--head q8_0`, the default for large heads
// via `auto`, or a Q8_0 head in the file) or Q4_0 weights (`--head q4_0`), times Q8_0
// activations, products summed exactly, scaled per 32-element block. The weights are in tern's
// row-pair layout (quant/paired_head_rows.h), the activations in ggml's Q8_0 blocks
// (quantize_row_q8_0). A Q4_0 weight is its nibble minus 8, element e of a block in byte e's
// low nibble for e < 16 and in byte e - 16's high nibble otherwise (ggml's order).
//
// Contract (every ISA matches kernels::ref bit for bit, for both formats): per row r and token
// t, eight float lanes start at 0. For each block b in increasing order, s = d_w(b) * d_x(b)
// (fp16 scales widened to float, one float multiply), and lane l (0..7) adds s * float(i_l),
// where i_l is the exact int32 sum of w * x over the block's elements 4l .. 4l+3. The lanes are
// combined pairwise: l + (l + 4), then + 2, then + 1. This is the lane order of vpdpbusd /
// pmaddwd on one 32-element block, so the SIMD kernels need no horizontal sum per block.
// Activation quants lie in [-127, 127], as quantize_row_q8_0 makes them (the AVX2 kernels
// move w's sign onto x, and -(-128) does not fit in int8); Q8_0 weights may be any int8.
//
// Q6_K weights (`--head q6_k`, quant/q6_k_head_rows.h) follow the same contract with one
// change: each 256-value super-block spans eight activation blocks, s = d_w(super-block) *
// d_x(b), and i_l is the group scale (int8) of the 16 values that hold elements 4l .. 4l+3
// times their exact sum of (code - 32) * x; so lanes 0-3 take the block's first group scale and
// lanes 4-7 its second. That product stays within int32 (|i_l| <= 128 * 4 * 32 * 127).
#pragma once

#include <cstddef>

#include "quant/paired_head_rows.h"
#include "quant/q6_k_head_rows.h"

namespace tern::kernels {

inline constexpr size_t kQ8BlockElems = 32;
inline constexpr size_t kQ8BlockBytes = 34;   // fp16 d + 32 int8

template <class Rows>
struct HeadMatmulArgs {
    const Rows* weights;
    const std::byte* x;         // n_tokens rows of Q8_0 blocks, token t at t * blocks_per_row * 34
    size_t n_tokens;
    float* out;                 // out[t * out_stride + r]
    size_t out_stride;
    size_t row_begin;           // Q8_0 and Q4_0: even, a call takes whole row pairs
    size_t row_end;             // <= weights->rows
};

using Q8MatmulArgs = HeadMatmulArgs<quant::PairedQ8Rows>;
using Q4MatmulArgs = HeadMatmulArgs<quant::PairedQ4Rows>;
using Q6KMatmulArgs = HeadMatmulArgs<quant::Q6KRows>;
using Q8MatmulFn = void (*)(const Q8MatmulArgs&);
using Q4MatmulFn = void (*)(const Q4MatmulArgs&);
using Q6KMatmulFn = void (*)(const Q6KMatmulArgs&);

namespace ref {
void q8_matmul(const Q8MatmulArgs& args);
void q4_matmul(const Q4MatmulArgs& args);
void q6_k_matmul(const Q6KMatmulArgs& args);
}  // namespace ref
namespace avx2 {
void q8_matmul(const Q8MatmulArgs& args);
void q4_matmul(const Q4MatmulArgs& args);
void q6_k_matmul(const Q6KMatmulArgs& args);
}  // namespace avx2
namespace avx512vnni {
void q8_matmul(const Q8MatmulArgs& args);
void q4_matmul(const Q4MatmulArgs& args);
void q6_k_matmul(const Q6KMatmulArgs& args);
}  // namespace avx512vnni
namespace neon {
void q8_matmul(const Q8MatmulArgs& args);
void q4_matmul(const Q4MatmulArgs& args);
void q6_k_matmul(const Q6KMatmulArgs& args);
}  // namespace neon
namespace neondot {
void q8_matmul(const Q8MatmulArgs& args);
void q4_matmul(const Q4MatmulArgs& args);
void q6_k_matmul(const Q6KMatmulArgs& args);
}  // namespace neondot

}  // namespace tern::kernels

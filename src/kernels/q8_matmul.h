// Q8_0 weights x Q8_0 activations (the LM head / tied embedding quantised to 8 bits, as
// `--head q8_0` makes it): int8 x int8 products summed exactly, scaled per 32-element block.
// The weights are in tern's row-pair layout (quant/paired_head_rows.h), the activations in
// ggml's Q8_0 blocks (quantize_row_q8_0).
//
// Contract (every ISA matches kernels::ref bit for bit): per row r and token t, eight float
// lanes start at 0. For each block b in increasing order, s = d_w(b) * d_x(b) (fp16 scales
// widened to float, one float multiply), and lane l (0..7) adds s * float(i_l), where i_l is
// the exact int32 sum of w * x over the block's elements 4l .. 4l+3. The lanes are combined
// pairwise: l + (l + 4), then + 2, then + 1. This is the lane order of vpdpbusd / pmaddwd on
// one 32-byte block, so the SIMD kernels need no horizontal sum per block.
// Activation quants lie in [-127, 127], as quantize_row_q8_0 makes them (the AVX2 kernel
// moves w's sign onto x, and -(-128) does not fit in int8); weights may be any int8.
#pragma once

#include <cstddef>

#include "quant/paired_head_rows.h"

namespace tern::kernels {

inline constexpr size_t kQ8BlockElems = 32;
inline constexpr size_t kQ8BlockBytes = 34;   // fp16 d + 32 int8

struct Q8MatmulArgs {
    const quant::PairedQ8Rows* weights;
    const std::byte* x;         // n_tokens rows of Q8_0 blocks, token t at t * blocks_per_row * 34
    size_t n_tokens;
    float* out;                 // out[t * out_stride + r]
    size_t out_stride;
    size_t row_begin;           // even: a call takes whole row pairs
    size_t row_end;             // <= weights->rows
};

using Q8MatmulFn = void (*)(const Q8MatmulArgs&);

namespace ref { void q8_matmul(const Q8MatmulArgs& args); }
namespace avx2 { void q8_matmul(const Q8MatmulArgs& args); }
namespace avx512vnni { void q8_matmul(const Q8MatmulArgs& args); }
namespace neon { void q8_matmul(const Q8MatmulArgs& args); }
namespace neondot { void q8_matmul(const Q8MatmulArgs& args); }

}  // namespace tern::kernels

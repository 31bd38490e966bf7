// Q4_0 weights x Q8_0 activations: the LM head quantised to 4 bits (`--head q4_0`, or a Q4_0
// head read from a file), int4 x int8 products summed exactly, scaled per 32-element block.
// The weights are in tern's row-pair layout (quant/paired_head_rows.h: ggml's nibbles, element
// e of a block in byte e's low nibble for e < 16, byte e - 16's high nibble otherwise, value
// nibble - 8), the activations in ggml's Q8_0 blocks (quantize_row_q8_0).
//
// Contract: the Q8_0 head kernel's (q8_matmul.h) with w = nibble - 8. Per row r and token t,
// eight float lanes start at 0; for each block b in increasing order, s = d_w(b) * d_x(b) (fp16
// scales widened to float, one float multiply), and lane l (0..7) adds s * float(i_l), i_l the
// exact int32 sum of w * x over the block's elements 4l .. 4l+3; the lanes are combined
// l + (l + 4), then + 2, then + 1. Every ISA matches kernels::ref bit for bit. Activation
// quants lie in [-127, 127], as quantize_row_q8_0 makes them.
#pragma once

#include <cstddef>

#include "quant/paired_head_rows.h"

namespace tern::kernels {

struct Q4MatmulArgs {
    const quant::PairedQ4Rows* weights;
    const std::byte* x;         // n_tokens rows of Q8_0 blocks, token t at t * blocks_per_row * 34
    size_t n_tokens;
    float* out;                 // out[t * out_stride + r]
    size_t out_stride;
    size_t row_begin;           // even: a call takes whole row pairs
    size_t row_end;             // <= weights->rows
};

using Q4MatmulFn = void (*)(const Q4MatmulArgs&);

namespace ref { void q4_matmul(const Q4MatmulArgs& args); }
namespace avx2 { void q4_matmul(const Q4MatmulArgs& args); }
namespace avx512vnni { void q4_matmul(const Q4MatmulArgs& args); }

}  // namespace tern::kernels

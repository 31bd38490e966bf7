// Float matrix x float activations for the big non-ternary matrices (LM head, tied
// embedding): out[t][r] = dot(W[r, :], x_t) with W rows stored as F32, F16 or BF16.
//
// Contract (every ISA matches kernels::ref bit for bit): the row is split into 16 lanes;
// lane l accumulates columns k = l (mod 16) in increasing k with a fused multiply-add
// (std::fma / vfmadd), columns past the end counting as w = 0, x = 0; then the lanes are
// combined pairwise: l + (l + 8), then + 4, + 2, + 1. AVX2 keeps lanes 0-7 and 8-15 in two
// registers and follows the same tree.
#pragma once

#include <cstddef>

#include "format/ggml_types.h"

namespace tern::kernels {

struct FloatMatmulArgs {
    const std::byte* weights;     // rows x cols elements of `type`, row r at r * row_bytes
    format::GgmlType type;        // kF32, kF16 or kBF16
    size_t cols;
    size_t row_bytes;
    const float* x;               // x[t * x_stride + k]
    size_t x_stride;
    size_t n_tokens;
    float* out;                   // out[t * out_stride + r], written, never read
    size_t out_stride;
    size_t row_begin;
    size_t row_end;
};
using FloatMatmulFn = void (*)(const FloatMatmulArgs&);

// Whether float_matmul handles weights of this type.
bool float_matmul_supports(format::GgmlType type);

namespace ref { void float_matmul(const FloatMatmulArgs& args); }
namespace avx2 { void float_matmul(const FloatMatmulArgs& args); }
namespace avx512 { void float_matmul(const FloatMatmulArgs& args); }
namespace neon { void float_matmul(const FloatMatmulArgs& args); }

}  // namespace tern::kernels

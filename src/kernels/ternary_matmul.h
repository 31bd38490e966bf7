// Ternary matrix x int8 activations: out[t][r] = dequantised dot(W[r, :], x_t) for every
// token t of the activations and every real row r in the given row tiles.
//
// Contract (every ISA must match kernels::ref bit for bit):
//   acc = sum_k w[r][k] * x_q[t][k]            exact int32 (|acc| <= 128 * K < 2^31)
//   out[t * out_stride + r] = (float(acc) * acts.scale[t]) * weights.row_scale[r]
// two float multiplies in that order, nothing fused. Padding rows are never written.
// GEMV is the decode shape (one token; bandwidth-bound), GEMM the prefill shape (many
// tokens; compute-bound, weights unpacked once per tile and reused across tokens). Both
// accept any token count, so either can serve any call; the driver picks by shape.
#pragma once

#include <cstddef>

#include "quant/int8_activations.h"
#include "quant/packed_ternary.h"

namespace tern::kernels {

struct TernaryMatmulArgs {
    const quant::PackedTernary* weights;
    const quant::Int8Activations* acts;   // acts->cols == weights->cols
    float* out;                           // out[t * out_stride + r], written, never read
    size_t out_stride;                    // >= weights->rows
    size_t tile_begin;                    // row tiles [tile_begin, tile_end), kRowTile rows each
    size_t tile_end;
};
using TernaryMatmulFn = void (*)(const TernaryMatmulArgs&);

namespace ref {
void ternary_gemv(const TernaryMatmulArgs& args);
void ternary_gemm(const TernaryMatmulArgs& args);
}  // namespace ref
namespace avx2 {
void ternary_gemv(const TernaryMatmulArgs& args);
void ternary_gemm(const TernaryMatmulArgs& args);
void ternary_gemv_base3(const TernaryMatmulArgs& args);   // layout kBase3
void ternary_gemm_base3(const TernaryMatmulArgs& args);
}  // namespace avx2
namespace avx512 {
void ternary_gemv(const TernaryMatmulArgs& args);
void ternary_gemm(const TernaryMatmulArgs& args);
}  // namespace avx512
namespace avx512vnni {
void ternary_gemv(const TernaryMatmulArgs& args);
void ternary_gemm(const TernaryMatmulArgs& args);
void ternary_gemv_base3(const TernaryMatmulArgs& args);   // layout kBase3
void ternary_gemm_base3(const TernaryMatmulArgs& args);
}  // namespace avx512vnni
// AMX-INT8 GEMM (ternary_matmul_amx_body.inc), layout kCodes: the tile instructions (x86 only;
// call only where kernels/amx_permission.h says the tiles may be used), and the same kernel
// over a scalar emulation of them, a test vehicle for every machine.
namespace amx {
void ternary_gemm(const TernaryMatmulArgs& args);
}  // namespace amx
namespace amx_emulated {
void ternary_gemm(const TernaryMatmulArgs& args);
}  // namespace amx_emulated
namespace neon {
void ternary_gemv(const TernaryMatmulArgs& args);
void ternary_gemm(const TernaryMatmulArgs& args);
void ternary_gemv_base3(const TernaryMatmulArgs& args);   // layout kBase3
void ternary_gemm_base3(const TernaryMatmulArgs& args);
}  // namespace neon
namespace neondot {
void ternary_gemv(const TernaryMatmulArgs& args);
void ternary_gemm(const TernaryMatmulArgs& args);
void ternary_gemv_base3(const TernaryMatmulArgs& args);   // layout kBase3
void ternary_gemm_base3(const TernaryMatmulArgs& args);
}  // namespace neondot
namespace neoni8mm {   // SMMLA GEMM; the GEMVs are neondot's (one token has no second column)
void ternary_gemm(const TernaryMatmulArgs& args);
void ternary_gemm_base3(const TernaryMatmulArgs& args);   // layout kBase3
}  // namespace neoni8mm

}  // namespace tern::kernels

// Complex {±1, ±i} matrix x complex int8 activations, iFairy's ComplexLinear: y = W · conj(x).
// With W = s_re * P + i * s_im * Q (quant/packed_complex.h) and x = x_re + i * x_im, each
// quantised per token to int8 with its own scale (1 / a_re, 1 / a_im), the four exact integer
// sums of a row r and token t are
//   Pr = sum_k P[r][k] * xr_q[k]    Pi = sum_k P[r][k] * xi_q[k]
//   Qr = sum_k Q[r][k] * xr_q[k]    Qi = sum_k Q[r][k] * xi_q[k]
// and, since y = W conj(x): Re y = Wr xr + Wi xi, Im y = Wi xr - Wr xi,
//   out[t * out_stride + r]             = (float(Pr) * scale_re_t) * s_re + (float(Qi) * scale_im_t) * s_im
//   out[t * out_stride + im_offset + r] = (float(Qr) * scale_re_t) * s_im - (float(Pi) * scale_im_t) * s_re
// each product and sum a separate float operation in that order, nothing fused.
//
// Activations: acts->n_tokens is twice the token count; row 2t holds token t's real parts,
// row 2t + 1 its imaginary parts, each quantised like BitNet's (int8_activations.h), so
// scale_re_t = acts->scale[2t], scale_im_t = acts->scale[2t + 1].
//
// Contract: every ISA matches kernels::ref bit for bit (|sum| <= 128 * K < 2^31, so the
// integer sums are exact whichever way they are formed). Padding rows are never written.
// ISAs: scalar reference; AVX2 and AVX-512 VNNI multiply the unsigned P + 1, Q + 1 in
// {0, 1, 2} by the signed activations (vpmaddubsw / vpdpbusd) and subtract the token's sum;
// AVX-512 (F/BW) is multiplication-free: masked byte moves, XOR sign flips and vpsadbw
// horizontal byte sums of activations biased to unsigned, corrected with PackedComplex::sign_bias.
// NEON and NEON SDOT multiply P and Q in {-1, 0, +1} by the signed activations directly.
#pragma once

#include <cstddef>

#include "quant/int8_activations.h"
#include "quant/packed_complex.h"

namespace tern::kernels {

struct ComplexMatmulArgs {
    const quant::PackedComplex* weights;
    const quant::Int8Activations* acts;   // 2 rows per token (re, im); acts->cols == weights->cols
    float* out;                           // written, never read
    size_t out_stride;                    // >= im_offset + weights->rows
    size_t im_offset;                     // >= weights->rows: where a token's imaginary outputs start
    size_t tile_begin;                    // row tiles [tile_begin, tile_end), kRowTile rows each
    size_t tile_end;
};
using ComplexMatmulFn = void (*)(const ComplexMatmulArgs&);

namespace ref {
void complex_gemv(const ComplexMatmulArgs& args);
void complex_gemm(const ComplexMatmulArgs& args);
}  // namespace ref
namespace avx2 {
void complex_gemv(const ComplexMatmulArgs& args);
void complex_gemm(const ComplexMatmulArgs& args);
}  // namespace avx2
namespace avx512 {   // multiplication-free
void complex_gemv(const ComplexMatmulArgs& args);
void complex_gemm(const ComplexMatmulArgs& args);
}  // namespace avx512
namespace avx512vnni {
void complex_gemv(const ComplexMatmulArgs& args);
void complex_gemm(const ComplexMatmulArgs& args);
}  // namespace avx512vnni
namespace neon {   // TBL-decoded P and Q, signed widening multiplies
void complex_gemv(const ComplexMatmulArgs& args);
void complex_gemm(const ComplexMatmulArgs& args);
}  // namespace neon
namespace neondot {   // the same with SDOT
void complex_gemv(const ComplexMatmulArgs& args);
void complex_gemm(const ComplexMatmulArgs& args);
}  // namespace neondot
namespace neoni8mm {   // SMMLA GEMM: all four sums of 8 columns per instruction; neondot's GEMV serves
void complex_gemm(const ComplexMatmulArgs& args);
}  // namespace neoni8mm

}  // namespace tern::kernels

// Fairy2i's widely-linear projection y = sum over stages (U_t x + W_t conj(x)), real in and out:
// a token's input is 2m floats [x_re | x_im], its output 2n floats [Re y | Im y]. With U_t =
// a P + i b Q and W_t = c S + i d T (P, Q, S, T in {-1, 0, +1}, quant/widely_linear.h), per
// stage (complex-and-recurrent.md §1.4):
//   Re y += a (P x_re) - b (Q x_im) + c (S x_re) + d (T x_im)
//   Im y += b (Q x_re) + a (P x_im) + d (T x_re) - c (S x_im)
// eight sign-masked sums per stage, all from one pass over the codes of U_t and W_t.
//
// Two activation paths:
// * int8 (exact): x_re and x_im quantised per token like BitNet's activations (two rows per
//   token, as complex_matmul.h), the eight sums exact int32, then per matrix j in order
//   U1, W1, U2, W2, with (s_re, s_im) its scales and sr, si the token's two activation scales:
//     U: re += (Pr * sr) * s_re;  re -= (Qi * si) * s_im;  im += (Qr * sr) * s_im;  im += (Pi * si) * s_re
//     W: re += (Pr * sr) * s_re;  re += (Qi * si) * s_im;  im += (Qr * sr) * s_im;  im -= (Pi * si) * s_re
//   starting from re = im = 0, each product and sum a separate float operation.
// * float (the reference's own activations): the same epilogue with sr = si = 1 and float sums
//   formed by masked additions and subtractions only, in a fixed order: 16 lanes, lane l adds
//   columns k = l (mod 16) in increasing k, then lanes combine l + (l + 8), then + 4, + 2, + 1.
//
// Contract: every ISA matches kernels::ref bit for bit on both paths.
//
// Prefetching (the SIMD kernels): a row's codes are every fourth run of row_chunk_bytes() in
// its tile, and a tile's rows are read one after another. A hint a fixed distance ahead in the
// row's own run leaves the other rows' lines to the hardware prefetcher, which does not follow
// that stride, so each row chunk's hint is for the same row and chunk of the next tile: over a
// tile's four rows every line of the next tile is asked for once, a tile ahead (into L2: a
// tile of a wide matrix is tens of KiB).
#pragma once

#include <cstddef>

#include "quant/int8_activations.h"
#include "quant/widely_linear.h"

namespace tern::kernels {

struct WidelyLinearInt8Args {
    const quant::PackedWidelyLinear* weights;
    const quant::Int8Activations* acts;   // 2 rows per token (x_re, x_im), cols == weights->cols
    float* out;                           // Re y at out[t * out_stride + r], Im y at + im_offset
    size_t out_stride;
    size_t im_offset;
    size_t tile_begin;
    size_t tile_end;
};

struct WidelyLinearFloatArgs {
    const quant::PackedWidelyLinear* weights;
    const float* x;          // token t's [x_re (m) | x_im (m)] at x + t * x_stride
    size_t x_stride;
    size_t n_tokens;
    float* out;
    size_t out_stride;
    size_t im_offset;
    size_t tile_begin;
    size_t tile_end;
};

using WidelyLinearInt8Fn = void (*)(const WidelyLinearInt8Args&);
using WidelyLinearFloatFn = void (*)(const WidelyLinearFloatArgs&);

namespace ref {
void widely_linear_int8(const WidelyLinearInt8Args& args);
void widely_linear_float(const WidelyLinearFloatArgs& args);
}  // namespace ref
// One pass per row chunk: its 2 or 4 code blocks are decoded once and give all 8 or 16 sums.
namespace avx2 {
void widely_linear_int8(const WidelyLinearInt8Args& args);
void widely_linear_float(const WidelyLinearFloatArgs& args);
}  // namespace avx2
namespace avx512 {   // int8: multiplication-free (vpsadbw), as complex_matmul_avx512.cpp
void widely_linear_int8(const WidelyLinearInt8Args& args);
void widely_linear_float(const WidelyLinearFloatArgs& args);
}  // namespace avx512
namespace avx512vnni {   // int8 only: VNNI adds nothing to the float path (avx512:: serves it)
void widely_linear_int8(const WidelyLinearInt8Args& args);
}  // namespace avx512vnni
namespace neon {
void widely_linear_int8(const WidelyLinearInt8Args& args);
void widely_linear_float(const WidelyLinearFloatArgs& args);
}  // namespace neon
namespace neondot {   // int8 only: SDOT adds nothing to the float path (neon:: serves it)
void widely_linear_int8(const WidelyLinearInt8Args& args);
}  // namespace neondot
namespace neoni8mm {   // int8 only: SMMLA for several tokens, SDOT for one
void widely_linear_int8(const WidelyLinearInt8Args& args);
}  // namespace neoni8mm

}  // namespace tern::kernels

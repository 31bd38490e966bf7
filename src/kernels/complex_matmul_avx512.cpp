// Multiplication-free complex {±1, ±i} matmul with AVX-512 (F/BW/VL): byte masks, vpsadbw
// (contract: complex_matmul.h). No multiply instruction appears in the loops: objdump -d of
// this object shows no vpmadd*, vpdpbusd or vpmul* anywhere; its only multiplies are the
// contract's float epilogue (vmulps, once per row and token) and address arithmetic (imul).
//
// Layout (packed_complex.h): per row tile and 256-column chunk, 4 rows x 64 bytes; byte b holds
// in bits 2p..2p+1 the code (axis | sign << 1) of column 64p + b. For plane p, vptestmb of the
// row chunk shifted right by 2p against 1 gives the axis mask (1: imaginary) of 64 consecutive
// columns and against 2 the sign mask (1: negative); bits from other planes are ignored.
//
// Activations become unsigned u = x ^ 0x80 = x + 128. With s = 0xff in the negative lanes and 0
// elsewhere (vpmovm2b of the sign mask), vpsadbw(u, s) adds |u - s| over each group of 8 bytes
// into a 64-bit lane: u = x + 128 where the weight is positive, 255 - u = 127 - x where it is
// negative (a sum of absolute differences: additions only). So, per activation row (xr or xi),
//   total = sum_k (sign_k x_k + b_k),   b_k = 128 for a positive weight, 127 for a negative one,
// over all cols_padded columns. The imaginary-axis subset uses the same vpsadbw on
// mask_mov(s, axis, u): the real-axis lanes hold s on both sides and add |s - s| = 0, so
//   imag = sum_{axis_k = 1} (sign_k x_k + b_k).
// With sign_bias[row] = {128 n(+1) + 127 n(-1), 128 n(+i) + 127 n(-i)} over the same columns
// (padding columns are code +1 against x = 0: u = 128 in total, counted in sign_bias[0]):
//   Qr = imag_r - sign_bias[1],   Pr = total_r - imag_r - sign_bias[0]   (from xr)
//   Qi = imag_i - sign_bias[1],   Pi = total_i - imag_i - sign_bias[0]   (from xi)
// since sum_{axis 0} sign_k x_k = sum P x and sum_{axis 1} sign_k x_k = sum Q x.
// Exact: vpsadbw lanes add at most 8 · 255 per plane into 64-bit accumulators, and the results
// are taken modulo 2^32, where the true sums (|.| <= 128 K) fit.
//
// Per 64 columns of one row and one token (objdump of the loops): 4 vpsadbw + 4 vpaddq + 2
// vpblendmb (the merge-masked moves), plus per row 0.75 vpsrlw + 2 vptestmb + 1 vpmovm2b (shared
// by the tokens of a GEMM pass) and per token 2 vpxord (shared by the rows): 14.25 in the GEMV,
// 12.9 per token in the two-token GEMM. GCC 12 also stores the 16 sums to the stack once per
// chunk (one store per 64 columns and row).
// GEMV: a tile's four rows x four sums = 16 accumulators. GEMM: two rows x two tokens x four
// sums, the masks computed once per row and plane for both tokens; a tile is two such passes.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/complex_matmul.h"

namespace tern::kernels::avx512 {
namespace {

using quant::kChunkBytes;
using quant::kRowTile;

// Calls step.template operator()<p>() for p = 0 .. 3, in order.
template <class Step>
void for_each_plane(Step&& step) {
    step.template operator()<0>();
    step.template operator()<1>();
    step.template operator()<2>();
    step.template operator()<3>();
}

// The 8-lane 64-bit sums of v[0] .. v[7], in that order, in one vector: pairwise interleaves
// add neighbouring lanes, then 128-bit lane shuffles add the rest (19 instructions for 8 sums).
// GCC 12's unmasked unpacks, shuffles and narrowing moves start from an "undefined" register
// that -Wuninitialized flags; the zero-masked forms here and below avoid it.
__m512i reduce_add8(const __m512i (&v)[8]) {
    __m512i pairs[4];
    for (int i = 0; i < 4; ++i)
        pairs[i] = _mm512_add_epi64(_mm512_maskz_unpacklo_epi64(0xff, v[2 * i], v[2 * i + 1]),
                                    _mm512_maskz_unpackhi_epi64(0xff, v[2 * i], v[2 * i + 1]));
    // 128-bit lane j of pairs[i] holds partial sums of v[2i] and v[2i + 1]; 0x88 picks lanes
    // 0, 2 of each source and 0xdd lanes 1, 3.
    const auto fold = [](__m512i x, __m512i y) {
        return _mm512_add_epi64(_mm512_maskz_shuffle_i64x2(0xff, x, y, 0x88), _mm512_maskz_shuffle_i64x2(0xff, x, y, 0xdd));
    };
    return fold(fold(pairs[0], pairs[1]), fold(pairs[2], pairs[3]));
}

// The contract's epilogue for one token and rows row0 .. row0 + 3 (lane r = row row0 + r), the
// same float operations in the same order as ref::complex_gemm; only lanes < n_rows that are
// real rows are written.
void store_rows(const ComplexMatmulArgs& a, size_t row0, size_t n_rows, size_t token, __m128i pr, __m128i qi, __m128i qr,
                __m128i pi) {
    const quant::PackedComplex& w = *a.weights;
    const __m128 scale_re = _mm_set1_ps(a.acts->scale[2 * token]), scale_im = _mm_set1_ps(a.acts->scale[2 * token + 1]);
    const __m128 w_re = _mm_set1_ps(w.scale_re), w_im = _mm_set1_ps(w.scale_im);
    const auto scaled = [](__m128i sum, __m128 act_scale, __m128 weight_scale) {
        return _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(sum), act_scale), weight_scale);
    };
    const __m128 re = _mm_add_ps(scaled(pr, scale_re, w_re), scaled(qi, scale_im, w_im));
    const __m128 im = _mm_sub_ps(scaled(qr, scale_re, w_im), scaled(pi, scale_im, w_re));
    const size_t real = row0 >= w.rows ? 0 : std::min(n_rows, w.rows - row0);
    const __mmask8 lanes = static_cast<__mmask8>((1u << real) - 1);
    float* out_re = a.out + token * a.out_stride + row0;
    _mm_mask_storeu_ps(out_re, lanes, re);
    _mm_mask_storeu_ps(out_re + a.im_offset, lanes, im);
}

constexpr size_t kPrefetchAhead = 2048;   // past the 4 KiB page ends the hardware prefetcher stops at

enum Sum { kTotalRe, kImagRe, kTotalIm, kImagIm, kSums };

// acc += v in 64-bit lanes, as _mm512_add_epi64. With the intrinsic GCC 12 keeps the 16 sums
// of a tile in a stack array and stores them every chunk; the "+v" operand keeps each in one
// register (ternary_matmul_avx512vnni.cpp met the same with vpdpbusd).
void add_epi64(__m512i& acc, __m512i v) { asm("vpaddq %1, %0, %0" : "+v"(acc) : "v"(v)); }

// The codes of plane Plane of a row chunk in bits 0..1 of each byte (higher bits: other planes).
template <int Plane>
__m512i plane_codes(const uint8_t* row_chunk) {
    const __m512i packed = _mm512_load_si512(row_chunk);
    if constexpr (Plane == 0) return packed;
    else return _mm512_srli_epi16(packed, 2 * Plane);
}

// 64 activations as unsigned bytes x + 128.
__m512i biased_columns(const int8_t* x) {
    return _mm512_xor_si512(_mm512_loadu_si512(x), _mm512_set1_epi8(static_cast<char>(0x80)));
}

// Rows row0 .. row0 + Rows - 1 of a tile against Tokens tokens from token0.
template <size_t Rows, int Tokens>
void tile_sums(const ComplexMatmulArgs& a, size_t tile, size_t row0, size_t token0) {
    const quant::PackedComplex& w = *a.weights;
    const uint8_t* codes = w.tile(tile);
    const int8_t* xr[Tokens];
    const int8_t* xi[Tokens];
    for (int t = 0; t < Tokens; ++t) {
        xr[t] = a.acts->row(2 * (token0 + t));
        xi[t] = a.acts->row(2 * (token0 + t) + 1);
    }
    __m512i acc[Rows][Tokens][kSums];
    for (auto& row_acc : acc)
        for (auto& token_acc : row_acc)
            for (__m512i& v : token_acc) v = _mm512_setzero_si512();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes) {
        // The first pass over a tile fetches all its rows; a second (GEMM) finds them cached.
        if (row0 == 0)
            for (size_t r = 0; r < kRowTile; ++r)
                _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
        const size_t column = chunk * quant::kChunkCols;
        for_each_plane([&]<int Plane>() {
            __m512i ur[Tokens], ui[Tokens];
            for (int t = 0; t < Tokens; ++t) {
                ur[t] = biased_columns(xr[t] + column + 64 * Plane);
                ui[t] = biased_columns(xi[t] + column + 64 * Plane);
            }
            for (size_t r = 0; r < Rows; ++r) {
                // Shifting the plane's codes to bits 0..1 costs a shift but leaves two test
                // constants instead of eight, which the 16 sums need the registers for.
                const __m512i plane = plane_codes<Plane>(codes + (row0 + r) * kChunkBytes);
                const __mmask64 imag = _mm512_test_epi8_mask(plane, _mm512_set1_epi8(1));
                const __m512i flip = _mm512_movm_epi8(_mm512_test_epi8_mask(plane, _mm512_set1_epi8(2)));   // 0xff: negative
                for (int t = 0; t < Tokens; ++t) {
                    __m512i* s = acc[r][t];
                    add_epi64(s[kTotalRe], _mm512_sad_epu8(ur[t], flip));
                    add_epi64(s[kImagRe], _mm512_sad_epu8(_mm512_mask_mov_epi8(flip, imag, ur[t]), flip));
                    add_epi64(s[kTotalIm], _mm512_sad_epu8(ui[t], flip));
                    add_epi64(s[kImagIm], _mm512_sad_epu8(_mm512_mask_mov_epi8(flip, imag, ui[t]), flip));
                }
            }
        });
    }
    // The rows' sign_bias pairs, de-interleaved: lanes 0..3 the real-axis bias, 4..7 the imaginary.
    const size_t first_row = tile * kRowTile + row0;
    const __m256i bias_pairs = _mm256_maskz_loadu_epi32(static_cast<__mmask8>((1u << (2 * Rows)) - 1), &w.sign_bias[2 * first_row]);
    const __m256i bias = _mm256_permutexvar_epi32(_mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7), bias_pairs);
    const __m128i bias_re_axis = _mm256_castsi256_si128(bias), bias_im_axis = _mm256_extracti128_si256(bias, 1);
    const __m512i z = _mm512_setzero_si512();
    const auto row_acc = [&](size_t r, int t, Sum s) { return r < Rows ? acc[r][t][s] : z; };
    for (int t = 0; t < Tokens; ++t) {
        // Lanes 0..3 the total, 4..7 the imaginary subset, of rows 0..3; modulo 2^32 from here.
        const __m512i re_sums[8] = {row_acc(0, t, kTotalRe), row_acc(1, t, kTotalRe), row_acc(2, t, kTotalRe), row_acc(3, t, kTotalRe),
                                    row_acc(0, t, kImagRe),  row_acc(1, t, kImagRe),  row_acc(2, t, kImagRe),  row_acc(3, t, kImagRe)};
        const __m512i im_sums[8] = {row_acc(0, t, kTotalIm), row_acc(1, t, kTotalIm), row_acc(2, t, kTotalIm), row_acc(3, t, kTotalIm),
                                    row_acc(0, t, kImagIm),  row_acc(1, t, kImagIm),  row_acc(2, t, kImagIm),  row_acc(3, t, kImagIm)};
        const __m256i re = _mm512_maskz_cvtepi64_epi32(0xff, reduce_add8(re_sums));
        const __m256i im = _mm512_maskz_cvtepi64_epi32(0xff, reduce_add8(im_sums));
        const __m128i total_re = _mm256_castsi256_si128(re), imag_re = _mm256_extracti128_si256(re, 1);
        const __m128i total_im = _mm256_castsi256_si128(im), imag_im = _mm256_extracti128_si256(im, 1);
        const __m128i pr = _mm_sub_epi32(_mm_sub_epi32(total_re, imag_re), bias_re_axis);
        const __m128i qr = _mm_sub_epi32(imag_re, bias_im_axis);
        const __m128i pi = _mm_sub_epi32(_mm_sub_epi32(total_im, imag_im), bias_re_axis);
        const __m128i qi = _mm_sub_epi32(imag_im, bias_im_axis);
        store_rows(a, first_row, Rows, token0 + t, pr, qi, qr, pi);
    }
}

}  // namespace

void complex_gemv(const ComplexMatmulArgs& a) {
    const size_t n_tokens = a.acts->n_tokens / 2;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile)
        for (size_t t = 0; t < n_tokens; ++t) tile_sums<kRowTile, 1>(a, tile, 0, t);
}

void complex_gemm(const ComplexMatmulArgs& a) {
    const size_t n_tokens = a.acts->n_tokens / 2;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        size_t t = 0;
        for (; t + 2 <= n_tokens; t += 2) {
            tile_sums<2, 2>(a, tile, 0, t);
            tile_sums<2, 2>(a, tile, 2, t);
        }
        if (t < n_tokens) tile_sums<kRowTile, 1>(a, tile, 0, t);
    }
}

}  // namespace tern::kernels::avx512

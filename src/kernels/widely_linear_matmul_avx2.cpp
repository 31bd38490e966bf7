// Fairy2i's widely-linear projection with AVX2, both activation paths (contract:
// widely_linear_matmul.h).
//
// int8: each 64-byte code block is decoded as complex_matmul_avx2.cpp does (two 32-byte halves,
// plane p = (bytes >> 2p) & 3, vpshufb to P + 1 and Q + 1 in {0, 1, 2}), and vpmaddubsw multiplies
// the codes by the token's xr and xi rows: (P+1)·xr = Pr + sum xr etc., the token's sums of xr and
// xi subtracted at the end (zero-point correction). Overflow as the complex kernel: per block 8
// pair sums in [-512, 508] into an int16 lane, folded (vphaddw x3, vpmaddwd) into int32 lanes once
// per block; sums modulo 2^32, where the true results fit.
// Fusion: per row chunk all 2 or 4 code blocks of the row are read once, each decoded once for
// every token of the pass (two tokens with 2 matrices, one with 4: the 16 registers).
//
// float: the contract's 16 lanes are two 256-bit registers (lanes 0..7 and 8..15), each pass of
// the row over one of them (the sums of both would not fit in 16 registers). Per 8 columns the
// codes are widened to 32-bit lanes (vpmovzxbd) and shifted so that the axis bit, and the sign
// bit, sit at bit 31: vblendvps reads only that bit, so the sum is taken or kept per lane
// (masked addition) and the sign bit is XORed into x (x + (-y) is x - y in IEEE arithmetic).
// Columns at and past cols are masked off, loads included (the x row holds 2 cols floats only).
#include <immintrin.h>

#include <cstdint>

#include "kernels/widely_linear_matmul.h"
#include "quant/packed_complex.h"

namespace tern::kernels::avx2 {
namespace {

using quant::kChunkBytes;
using quant::kRowTile;

template <class Step>
void for_each_plane(Step&& step) {
    step.template operator()<0>();
    step.template operator()<1>();
    step.template operator()<2>();
    step.template operator()<3>();
}

enum Sum { kPr, kPi, kQr, kQi, kSums };

// The contract's epilogue for one row and token from the matrices' float sums, the same float
// operations in the same order as ref's (sr = si = 1 on the float path, multiplied all the same).
void store_row(const quant::PackedWidelyLinear& w, const float (&sums)[quant::kMaxWidelyLinearMatrices][kSums], float sr, float si,
               float* out_re, float* out_im) {
    float re = 0.0f, im = 0.0f;
    for (size_t j = 0; j < w.n_matrices; ++j) {
        const float pr = sums[j][kPr], pi = sums[j][kPi], qr = sums[j][kQr], qi = sums[j][kQi];
        const float sa = w.scale_re[j], sb = w.scale_im[j];
        if (j % 2 == 0) {
            re += pr * sr * sa;
            re -= qi * si * sb;
            im += qr * sr * sb;
            im += pi * si * sa;
        } else {
            re += pr * sr * sa;
            re += qi * si * sb;
            im += qr * sr * sb;
            im -= pi * si * sa;
        }
    }
    *out_re = re;
    *out_im = im;
}

// Prefetch hints: the next tile's lines (widely_linear_matmul.h says why).

// ---- int8 ----

__m256i p_plus_one_table() { return _mm256_broadcastsi128_si256(_mm_setr_epi8(2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); }
__m256i q_plus_one_table() { return _mm256_broadcastsi128_si256(_mm_setr_epi8(1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); }

template <int Plane>
__m256i plane_codes(__m256i packed) {
    const __m256i low2 = _mm256_set1_epi8(3);
    if constexpr (Plane == 0) return _mm256_and_si256(packed, low2);
    else return _mm256_and_si256(_mm256_srli_epi16(packed, 2 * Plane), low2);
}

// The int16 sums in the order the fold expects.
enum FoldSum { kFoldPr, kFoldQi, kFoldQr, kFoldPi, kFoldSums };

// acc += v in int16 lanes; the "+x" operand keeps each sum in one register and the adds in
// order (complex_matmul_avx2.cpp: with the intrinsic GCC 12 reassociates them and spills).
void add_epi16(__m256i& acc, __m256i v) { asm("vpaddw %1, %0, %0" : "+x"(acc) : "x"(v)); }

// One 64-byte code block against Tokens tokens (xr[t] / xi[t] at the chunk's first column).
template <int Tokens>
[[gnu::always_inline]] inline void block_products(const uint8_t* block, const int8_t* const xr[Tokens], const int8_t* const xi[Tokens],
                                                  __m256i sums[Tokens][kFoldSums]) {
    const __m256i p_table = p_plus_one_table(), q_table = q_plus_one_table();
    for (int half = 0; half < 2; ++half) {
        const __m256i packed = _mm256_load_si256(reinterpret_cast<const __m256i*>(block + 32 * half));
        for_each_plane([&]<int Plane>() {
            const __m256i codes = plane_codes<Plane>(packed);
            const __m256i p1 = _mm256_shuffle_epi8(p_table, codes), q1 = _mm256_shuffle_epi8(q_table, codes);
            for (int t = 0; t < Tokens; ++t) {
                const size_t column = 64 * Plane + 32 * half;
                const __m256i re = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xr[t] + column));
                const __m256i im = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xi[t] + column));
                add_epi16(sums[t][kFoldPr], _mm256_maddubs_epi16(p1, re));
                add_epi16(sums[t][kFoldQi], _mm256_maddubs_epi16(q1, im));
                add_epi16(sums[t][kFoldQr], _mm256_maddubs_epi16(q1, re));
                add_epi16(sums[t][kFoldPi], _mm256_maddubs_epi16(p1, im));
            }
        });
    }
}

// A block's four int16 sums as int32 lanes [Pr, Qi, Qr, Pi] per 128-bit lane.
__m256i fold_sums(const __m256i s[kFoldSums]) {
    const __m256i pr_qi = _mm256_hadd_epi16(s[kFoldPr], s[kFoldQi]);
    const __m256i qr_pi = _mm256_hadd_epi16(s[kFoldQr], s[kFoldPi]);
    const __m256i all = _mm256_hadd_epi16(pr_qi, qr_pi);
    return _mm256_madd_epi16(all, _mm256_set1_epi16(1));
}

template <size_t NMat, int Tokens>
void row_sums_int8(const WidelyLinearInt8Args& a, size_t row, size_t token0) {
    const quant::PackedWidelyLinear& w = *a.weights;
    const size_t chunk_stride = kRowTile * w.row_chunk_bytes();
    const uint8_t* codes = w.tile(row / kRowTile) + (row % kRowTile) * w.row_chunk_bytes();
    const int8_t* xr[Tokens];
    const int8_t* xi[Tokens];
    for (int t = 0; t < Tokens; ++t) {
        xr[t] = a.acts->row(2 * (token0 + t));
        xi[t] = a.acts->row(2 * (token0 + t) + 1);
    }
    __m256i acc[Tokens][NMat];
    for (auto& token_acc : acc)
        for (__m256i& v : token_acc) v = _mm256_setzero_si256();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += chunk_stride) {
        if (token0 == 0)
            for (size_t j = 0; j < NMat; ++j)
                _mm_prefetch(reinterpret_cast<const char*>(codes + w.tile_bytes() + j * kChunkBytes), _MM_HINT_T1);
        for (size_t j = 0; j < NMat; ++j) {
            // Hiding the pointers' value keeps the activation loads in the loop, as memory
            // operands of vpmaddubsw (complex_matmul_avx2.cpp: hoisted, they spill).
            const int8_t* block_xr[Tokens];
            const int8_t* block_xi[Tokens];
            for (int t = 0; t < Tokens; ++t) {
                block_xr[t] = xr[t], block_xi[t] = xi[t];
                asm("" : "+r"(block_xr[t]), "+r"(block_xi[t]));
            }
            __m256i sums[Tokens][kFoldSums];
            for (auto& token_sums : sums)
                for (__m256i& v : token_sums) v = _mm256_setzero_si256();
            block_products<Tokens>(codes + j * kChunkBytes, block_xr, block_xi, sums);
            for (int t = 0; t < Tokens; ++t) acc[t][j] = _mm256_add_epi32(acc[t][j], fold_sums(sums[t]));
        }
        for (int t = 0; t < Tokens; ++t) xr[t] += quant::kChunkCols, xi[t] += quant::kChunkCols;
    }
    for (int t = 0; t < Tokens; ++t) {
        const size_t token = token0 + t;
        const uint32_t zero_re = static_cast<uint32_t>(a.acts->sum[2 * token]), zero_im = static_cast<uint32_t>(a.acts->sum[2 * token + 1]);
        // Modulo 2^32, where the true sums fit.
        const auto exact = [](int32_t s, uint32_t zero) { return static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(s) - zero)); };
        float sums[quant::kMaxWidelyLinearMatrices][kSums];
        for (size_t j = 0; j < NMat; ++j) {
            alignas(16) int32_t l[kFoldSums];
            _mm_store_si128(reinterpret_cast<__m128i*>(l), _mm_add_epi32(_mm256_castsi256_si128(acc[t][j]), _mm256_extracti128_si256(acc[t][j], 1)));
            sums[j][kPr] = exact(l[kFoldPr], zero_re);
            sums[j][kQi] = exact(l[kFoldQi], zero_im);
            sums[j][kQr] = exact(l[kFoldQr], zero_re);
            sums[j][kPi] = exact(l[kFoldPi], zero_im);
        }
        float* out = a.out + token * a.out_stride + row;
        store_row(w, sums, a.acts->scale[2 * token], a.acts->scale[2 * token + 1], out, out + a.im_offset);
    }
}

// ---- float ----

// Lanes 8 * half .. 8 * half + 7 of the contract's 16 for row `row` and one token: acc[j][s].
template <size_t NMat>
void row_half_float(const WidelyLinearFloatArgs& a, size_t row, size_t token, size_t half, __m256 (&acc)[NMat][kSums]) {
    const quant::PackedWidelyLinear& w = *a.weights;
    const size_t cols = w.cols;
    const size_t chunk_stride = kRowTile * w.row_chunk_bytes();
    const uint8_t* codes = w.tile(row / kRowTile) + (row % kRowTile) * w.row_chunk_bytes();
    const float* xr = a.x + token * a.x_stride;
    const float* xi = xr + cols;
    for (auto& matrix_acc : acc)
        for (__m256& v : matrix_acc) v = _mm256_setzero_ps();
    const __m256i sign_bit = _mm256_set1_epi32(static_cast<int>(0x80000000u));
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i all_lanes = _mm256_set1_epi32(-1);
    for (size_t column = 0; column < cols; column += quant::kChunkCols, codes += chunk_stride) {
        if (token == 0 && half == 0)
            for (size_t j = 0; j < NMat; ++j)
                _mm_prefetch(reinterpret_cast<const char*>(codes + w.tile_bytes() + j * kChunkBytes), _MM_HINT_T1);
        for (size_t plane = 0; plane < 4; ++plane) {
            const __m128i axis_shift = _mm_cvtsi32_si128(static_cast<int>(31 - 2 * plane));
            const __m128i sign_shift = _mm_cvtsi32_si128(static_cast<int>(30 - 2 * plane));
            for (size_t group = 0; group < 4; ++group) {
                const size_t offset = 16 * group + 8 * half;   // byte in the block = column in the plane
                const size_t c = column + 64 * plane + offset;
                if (c >= cols) break;   // later groups of the chunk start further on
                __m256 re, im;
                __m256i valid = all_lanes;
                if (c + 8 <= cols) {
                    re = _mm256_loadu_ps(xr + c);
                    im = _mm256_loadu_ps(xi + c);
                } else {
                    valid = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols - c)), lane_index);
                    re = _mm256_maskload_ps(xr + c, valid);
                    im = _mm256_maskload_ps(xi + c, valid);
                }
                for (size_t j = 0; j < NMat; ++j) {
                    const __m256i code = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + j * kChunkBytes + offset)));
                    const __m256i axis = _mm256_sll_epi32(code, axis_shift);   // bit 31: imaginary
                    const __m256 imag = _mm256_castsi256_ps(_mm256_and_si256(axis, valid));
                    const __m256 real = _mm256_castsi256_ps(_mm256_andnot_si256(axis, valid));
                    const __m256 flip = _mm256_castsi256_ps(_mm256_and_si256(_mm256_sll_epi32(code, sign_shift), sign_bit));
                    const __m256 sr = _mm256_xor_ps(re, flip), si = _mm256_xor_ps(im, flip);
                    __m256* s = acc[j];
                    s[kPr] = _mm256_blendv_ps(s[kPr], _mm256_add_ps(s[kPr], sr), real);
                    s[kPi] = _mm256_blendv_ps(s[kPi], _mm256_add_ps(s[kPi], si), real);
                    s[kQr] = _mm256_blendv_ps(s[kQr], _mm256_add_ps(s[kQr], sr), imag);
                    s[kQi] = _mm256_blendv_ps(s[kQi], _mm256_add_ps(s[kQi], si), imag);
                }
            }
        }
    }
}

// l[0] of the contract's tree over lanes low (0..7) and high (8..15): l[i] + l[i + 8], then + 4,
// + 2, + 1 (the lower lane the first operand, as the reference).
float tree(__m256 low, __m256 high) {
    const __m256 l8 = _mm256_add_ps(low, high);
    const __m128 l4 = _mm_add_ps(_mm256_castps256_ps128(l8), _mm256_extractf128_ps(l8, 1));
    const __m128 l2 = _mm_add_ps(l4, _mm_movehl_ps(l4, l4));
    return _mm_cvtss_f32(_mm_add_ss(l2, _mm_movehdup_ps(l2)));
}

template <size_t NMat>
void row_float(const WidelyLinearFloatArgs& a, size_t row, size_t token) {
    __m256 low[NMat][kSums], high[NMat][kSums];
    row_half_float<NMat>(a, row, token, 0, low);
    row_half_float<NMat>(a, row, token, 1, high);
    float sums[quant::kMaxWidelyLinearMatrices][kSums];
    for (size_t j = 0; j < NMat; ++j)
        for (int s = 0; s < kSums; ++s) sums[j][s] = tree(low[j][s], high[j][s]);
    float* out = a.out + token * a.out_stride + row;
    store_row(*a.weights, sums, 1.0f, 1.0f, out, out + a.im_offset);
}

}  // namespace

void widely_linear_int8(const WidelyLinearInt8Args& a) {
    const quant::PackedWidelyLinear& w = *a.weights;
    const size_t n_tokens = a.acts->n_tokens / 2;
    for (size_t row = a.tile_begin * kRowTile; row < a.tile_end * kRowTile && row < w.rows; ++row) {
        if (w.n_matrices == 2) {
            size_t t = 0;
            for (; t + 2 <= n_tokens; t += 2) row_sums_int8<2, 2>(a, row, t);
            if (t < n_tokens) row_sums_int8<2, 1>(a, row, t);
        } else {
            for (size_t t = 0; t < n_tokens; ++t) row_sums_int8<4, 1>(a, row, t);
        }
    }
}

void widely_linear_float(const WidelyLinearFloatArgs& a) {
    const quant::PackedWidelyLinear& w = *a.weights;
    for (size_t row = a.tile_begin * kRowTile; row < a.tile_end * kRowTile && row < w.rows; ++row)
        for (size_t t = 0; t < a.n_tokens; ++t) {
            if (w.n_matrices == 2) row_float<2>(a, row, t);
            else row_float<4>(a, row, t);
        }
}

}  // namespace tern::kernels::avx2

// Fairy2i's widely-linear projection with AVX-512 (F/BW/VL), both activation paths
// (contract: widely_linear_matmul.h). Multiplication-free in the loops: the int8 path uses
// masked byte moves and vpsadbw, the float path masked float additions; objdump -d of this
// object shows no vpmadd*, vpdpbusd or vpmul*; its only multiplies are the contract's float
// epilogue (vmulss, once per row, token and matrix) and address arithmetic (imul).
//
// Fusion: per row chunk and plane, the token's activations are loaded once and meet the plane of
// all 2 or 4 code blocks of the row (U1, W1 (, U2, W2)), decoded once for every token of the pass.
// Passes: one row at a time (its codes stay in L1 across token passes); with 2 matrices two
// tokens per pass, with 4 one (16 accumulators either way).
//
// int8: as complex_matmul_avx512.cpp. Activations become u = x ^ 0x80 = x + 128; with s = 0xff in
// the negative lanes (vpmovm2b of the sign mask), vpsadbw(u, s) adds sign_k x_k + b_k (b_k = 128
// for a positive weight, 127 for a negative one) over 8 bytes, and vpsadbw(mask_mov(s, axis, u), s)
// the same over the imaginary-axis columns only. PackedWidelyLinear carries no sign_bias, so the
// kernel counts it from the same masks (popcnt, no multiply): over the row's cols_padded columns
//   bias_all = 128 cols_padded - n(neg),  bias_imag = 128 n(imag) - n(imag and neg),
//   Pr = total_r - imag_r - (bias_all - bias_imag),  Qr = imag_r - bias_imag (the same from xi).
// Exact: 64-bit lanes, results taken modulo 2^32, where the true sums (|.| <= 128 K) fit.
//
// float: a 512-bit register is exactly the contract's 16 lanes (lane l: columns k = l mod 16, in
// increasing k). Per 16 columns, the sign mask becomes a vector of sign bits XORed into x (x + (-y)
// is x - y in IEEE arithmetic), and masked vaddps add it into the P sums (real-axis lanes) or the
// Q sums (imaginary-axis lanes). Columns at and past cols are masked off, loads included (the x
// row holds 2 cols floats only). The lanes then combine l + (l + 8), + 4, + 2, + 1 as the contract.
#include <immintrin.h>

#include <cstdint>

#include "kernels/widely_linear_matmul.h"
#include "quant/packed_complex.h"

namespace tern::kernels::avx512 {
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

enum SadSum { kTotalRe, kImagRe, kTotalIm, kImagIm };

// acc += v in 64-bit lanes; the "+v" operand keeps each sum in one register (as
// complex_matmul_avx512.cpp: with the intrinsic GCC 12 keeps them in a stack array).
void add_epi64(__m512i& acc, __m512i v) { asm("vpaddq %1, %0, %0" : "+v"(acc) : "v"(v)); }

// The 8-lane 64-bit sums of v[0] .. v[7], in that order (zero-masked forms: GCC 12's unmasked
// ones start from an "undefined" register that -Wuninitialized flags).
__m512i reduce_add8(const __m512i (&v)[8]) {
    __m512i pairs[4];
    for (int i = 0; i < 4; ++i)
        pairs[i] = _mm512_add_epi64(_mm512_maskz_unpacklo_epi64(0xff, v[2 * i], v[2 * i + 1]),
                                    _mm512_maskz_unpackhi_epi64(0xff, v[2 * i], v[2 * i + 1]));
    const auto fold = [](__m512i x, __m512i y) {
        return _mm512_add_epi64(_mm512_maskz_shuffle_i64x2(0xff, x, y, 0x88), _mm512_maskz_shuffle_i64x2(0xff, x, y, 0xdd));
    };
    return fold(fold(pairs[0], pairs[1]), fold(pairs[2], pairs[3]));
}

// The codes of plane Plane of a block in bits 0..1 of each byte (higher bits: other planes).
template <int Plane>
__m512i plane_codes(const uint8_t* block) {
    const __m512i packed = _mm512_load_si512(block);
    if constexpr (Plane == 0) return packed;
    else return _mm512_srli_epi16(packed, 2 * Plane);
}

__m512i biased_columns(const int8_t* x) {
    return _mm512_xor_si512(_mm512_loadu_si512(x), _mm512_set1_epi8(static_cast<char>(0x80)));
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
    __m512i acc[Tokens][NMat][4];
    for (auto& token_acc : acc)
        for (auto& matrix_acc : token_acc)
            for (__m512i& v : matrix_acc) v = _mm512_setzero_si512();
    uint64_t n_neg[NMat] = {}, n_imag[NMat] = {}, n_imag_neg[NMat] = {};
    for (size_t chunk = 0, column = 0; chunk < w.n_chunks(); ++chunk, codes += chunk_stride, column += quant::kChunkCols) {
        if (token0 == 0)
            for (size_t j = 0; j < NMat; ++j)
                _mm_prefetch(reinterpret_cast<const char*>(codes + w.tile_bytes() + j * kChunkBytes), _MM_HINT_T1);
        for_each_plane([&]<int Plane>() {
            __m512i ur[Tokens], ui[Tokens];
            for (int t = 0; t < Tokens; ++t) {
                ur[t] = biased_columns(xr[t] + column + 64 * Plane);
                ui[t] = biased_columns(xi[t] + column + 64 * Plane);
            }
            for (size_t j = 0; j < NMat; ++j) {
                const __m512i plane = plane_codes<Plane>(codes + j * kChunkBytes);
                const __mmask64 imag = _mm512_test_epi8_mask(plane, _mm512_set1_epi8(1));
                const __mmask64 neg = _mm512_test_epi8_mask(plane, _mm512_set1_epi8(2));
                const __m512i flip = _mm512_movm_epi8(neg);   // 0xff: negative
                n_neg[j] += static_cast<uint64_t>(_mm_popcnt_u64(neg));
                n_imag[j] += static_cast<uint64_t>(_mm_popcnt_u64(imag));
                n_imag_neg[j] += static_cast<uint64_t>(_mm_popcnt_u64(imag & neg));
                for (int t = 0; t < Tokens; ++t) {
                    __m512i* s = acc[t][j];
                    add_epi64(s[kTotalRe], _mm512_sad_epu8(ur[t], flip));
                    add_epi64(s[kImagRe], _mm512_sad_epu8(_mm512_mask_mov_epi8(flip, imag, ur[t]), flip));
                    add_epi64(s[kTotalIm], _mm512_sad_epu8(ui[t], flip));
                    add_epi64(s[kImagIm], _mm512_sad_epu8(_mm512_mask_mov_epi8(flip, imag, ui[t]), flip));
                }
            }
        });
    }
    // Modulo 2^32 from here, where the true sums fit.
    uint32_t bias_imag[NMat], bias_real[NMat];
    for (size_t j = 0; j < NMat; ++j) {
        const uint64_t all = (static_cast<uint64_t>(w.cols_padded) << 7) - n_neg[j];
        const uint64_t imag = (n_imag[j] << 7) - n_imag_neg[j];
        bias_imag[j] = static_cast<uint32_t>(imag);
        bias_real[j] = static_cast<uint32_t>(all - imag);
    }
    for (int t = 0; t < Tokens; ++t) {
        float sums[quant::kMaxWidelyLinearMatrices][kSums];
        for (size_t jp = 0; jp < NMat; jp += 2) {
            const __m512i v[8] = {acc[t][jp][0], acc[t][jp][1], acc[t][jp][2], acc[t][jp][3],
                                  acc[t][jp + 1][0], acc[t][jp + 1][1], acc[t][jp + 1][2], acc[t][jp + 1][3]};
            alignas(64) uint64_t lanes[8];
            _mm512_store_si512(lanes, reduce_add8(v));
            for (size_t d = 0; d < 2; ++d) {
                const size_t j = jp + d;
                const uint64_t* l = lanes + 4 * d;
                const auto exact = [](uint64_t s) { return static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(s))); };
                sums[j][kPr] = exact(l[kTotalRe] - l[kImagRe] - bias_real[j]);
                sums[j][kQr] = exact(l[kImagRe] - bias_imag[j]);
                sums[j][kPi] = exact(l[kTotalIm] - l[kImagIm] - bias_real[j]);
                sums[j][kQi] = exact(l[kImagIm] - bias_imag[j]);
            }
        }
        const size_t token = token0 + t;
        float* out = a.out + token * a.out_stride + row;
        store_row(w, sums, a.acts->scale[2 * token], a.acts->scale[2 * token + 1], out, out + a.im_offset);
    }
}

// ---- float ----

// l[0] of the contract's tree over 16 lanes: l[i] + l[i + 8], then + 4, + 2, + 1 (the lower lane
// the first operand, as the reference).
float tree(__m512 v) {
    // Zero-masked extracts: GCC 12's cast and unmasked extract trip -Wuninitialized.
    const __m512d d = _mm512_castps_pd(v);
    const __m256 l8 = _mm256_add_ps(_mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xf, d, 0)),
                                    _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xf, d, 1)));
    const __m128 l4 = _mm_add_ps(_mm256_castps256_ps128(l8), _mm256_extractf128_ps(l8, 1));
    const __m128 l2 = _mm_add_ps(l4, _mm_movehl_ps(l4, l4));
    return _mm_cvtss_f32(_mm_add_ss(l2, _mm_movehdup_ps(l2)));
}

template <size_t NMat, int Tokens>
void row_sums_float(const WidelyLinearFloatArgs& a, size_t row, size_t token0) {
    const quant::PackedWidelyLinear& w = *a.weights;
    const size_t cols = w.cols;
    const size_t chunk_stride = kRowTile * w.row_chunk_bytes();
    const uint8_t* codes = w.tile(row / kRowTile) + (row % kRowTile) * w.row_chunk_bytes();
    const float* xr[Tokens];
    const float* xi[Tokens];
    for (int t = 0; t < Tokens; ++t) {
        xr[t] = a.x + (token0 + t) * a.x_stride;
        xi[t] = xr[t] + cols;
    }
    __m512 acc[Tokens][NMat][kSums];
    for (auto& token_acc : acc)
        for (auto& matrix_acc : token_acc)
            for (__m512& v : matrix_acc) v = _mm512_setzero_ps();
    const __m512i sign_bit = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    for (size_t column = 0; column < cols; column += quant::kChunkCols, codes += chunk_stride) {
        if (token0 == 0)
            for (size_t j = 0; j < NMat; ++j)
                _mm_prefetch(reinterpret_cast<const char*>(codes + w.tile_bytes() + j * kChunkBytes), _MM_HINT_T1);
        for (size_t plane = 0; plane < 4 && column + 64 * plane < cols; ++plane) {
            __mmask64 imag64[NMat], neg64[NMat];
            const __m512i axis_bit = _mm512_set1_epi8(static_cast<char>(1 << (2 * plane)));
            const __m512i sign_code_bit = _mm512_set1_epi8(static_cast<char>(2 << (2 * plane)));
            for (size_t j = 0; j < NMat; ++j) {
                const __m512i packed = _mm512_load_si512(codes + j * kChunkBytes);
                imag64[j] = _mm512_test_epi8_mask(packed, axis_bit);
                neg64[j] = _mm512_test_epi8_mask(packed, sign_code_bit);
            }
            for (size_t group = 0; group < 4; ++group) {
                const size_t c = column + 64 * plane + 16 * group;
                if (c >= cols) break;
                const __mmask16 valid = c + 16 <= cols ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (cols - c)) - 1);
                __m512 re[Tokens], im[Tokens];
                for (int t = 0; t < Tokens; ++t) {
                    re[t] = _mm512_maskz_loadu_ps(valid, xr[t] + c);
                    im[t] = _mm512_maskz_loadu_ps(valid, xi[t] + c);
                }
                for (size_t j = 0; j < NMat; ++j) {
                    const auto imag = static_cast<__mmask16>((imag64[j] >> (16 * group)) & valid);
                    const auto real = static_cast<__mmask16>(~(imag64[j] >> (16 * group)) & valid);
                    const auto neg = static_cast<__mmask16>(neg64[j] >> (16 * group));
                    const __m512i flip = _mm512_maskz_mov_epi32(neg, sign_bit);
                    for (int t = 0; t < Tokens; ++t) {
                        // Integer XOR: vxorps on 512 bits needs AVX-512 DQ.
                        const __m512 sr = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(re[t]), flip));
                        const __m512 si = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(im[t]), flip));
                        __m512* s = acc[t][j];
                        s[kPr] = _mm512_mask_add_ps(s[kPr], real, s[kPr], sr);
                        s[kPi] = _mm512_mask_add_ps(s[kPi], real, s[kPi], si);
                        s[kQr] = _mm512_mask_add_ps(s[kQr], imag, s[kQr], sr);
                        s[kQi] = _mm512_mask_add_ps(s[kQi], imag, s[kQi], si);
                    }
                }
            }
        }
    }
    for (int t = 0; t < Tokens; ++t) {
        float sums[quant::kMaxWidelyLinearMatrices][kSums];
        for (size_t j = 0; j < NMat; ++j)
            for (int s = 0; s < kSums; ++s) sums[j][s] = tree(acc[t][j][s]);
        float* out = a.out + (token0 + t) * a.out_stride + row;
        store_row(w, sums, 1.0f, 1.0f, out, out + a.im_offset);
    }
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
    for (size_t row = a.tile_begin * kRowTile; row < a.tile_end * kRowTile && row < w.rows; ++row) {
        if (w.n_matrices == 2) {
            size_t t = 0;
            for (; t + 2 <= a.n_tokens; t += 2) row_sums_float<2, 2>(a, row, t);
            if (t < a.n_tokens) row_sums_float<2, 1>(a, row, t);
        } else {
            for (size_t t = 0; t < a.n_tokens; ++t) row_sums_float<4, 1>(a, row, t);
        }
    }
}

}  // namespace tern::kernels::avx512

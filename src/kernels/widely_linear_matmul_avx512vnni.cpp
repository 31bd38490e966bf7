// Fairy2i's widely-linear projection, int8 activations, with AVX-512 VNNI dot products
// (contract: widely_linear_matmul.h).
//
// Each 64-byte code block is coded as complex_matmul_avx512vnni.cpp expects (packed_complex.h),
// and the same decode serves: the block splits into low nibbles (planes 0, 1) and high nibbles
// (planes 2, 3), and vpshufb tables give P + 1 and Q + 1 in {0, 1, 2}, which vpdpbusd multiplies
// by the signed activations: (P+1)·xr = Pr + sum xr etc.; the token's sums of xr and xi
// (Int8Activations::sum) are subtracted at the end (zero-point correction).
// Fusion: per row chunk and plane the token's 64 xr and xi bytes are loaded once and meet the
// plane of all 2 or 4 code blocks of the row (U1, W1 (, U2, W2)): 8 or 16 accumulators, each
// block decoded once for every token of the pass.
// Overflow: as the complex kernel, |lane| <= 2^28 for K = 2^24; sums are taken modulo 2^32,
// where the true results (|.| <= 128 K) fit.
// Passes: one row at a time (its codes stay in L1 across token passes); with 2 matrices two
// tokens per pass (16 accumulators), with 4 matrices one token (16 accumulators).
#include <immintrin.h>

#include <cstdint>

#include "kernels/widely_linear_matmul.h"
#include "quant/packed_complex.h"

namespace tern::kernels::avx512vnni {
namespace {

using quant::kChunkBytes;
using quant::kRowTile;

// vpshufb tables over a nibble n = lo | hi << 2 of two codes: the unit factor + 1 of lo or of hi.
__m512i nibble_table(const int (&f)[4], bool high_code) {
    alignas(16) int8_t t[16];
    for (int n = 0; n < 16; ++n) t[n] = static_cast<int8_t>(f[high_code ? n >> 2 : n & 3]);
    return _mm512_maskz_broadcast_i32x4(0xffff, _mm_load_si128(reinterpret_cast<const __m128i*>(t)));
}

struct Tables {
    __m512i p_low, p_high, q_low, q_high;
};

Tables make_tables() {
    static constexpr int kP1[4] = {2, 1, 0, 1}, kQ1[4] = {1, 2, 1, 0};
    return {nibble_table(kP1, false), nibble_table(kP1, true), nibble_table(kQ1, false), nibble_table(kQ1, true)};
}

template <class Step>
void for_each_plane(Step&& step) {
    step.template operator()<0>();
    step.template operator()<1>();
    step.template operator()<2>();
    step.template operator()<3>();
}

// GCC 12's unmasked extracts and unpacks start from an "undefined" register that
// -Wuninitialized flags; the zero-masked forms avoid it.
__m256i lower_half(__m512i v) { return _mm512_maskz_extracti64x4_epi64(0xff, v, 0); }
__m256i upper_half(__m512i v) { return _mm512_maskz_extracti64x4_epi64(0xff, v, 1); }

// The four 16-lane sums of a, b, c, d in one vector.
__m128i reduce_add4(__m512i a, __m512i b, __m512i c, __m512i d) {
    const __m512i ab = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(0xffff, a, b), _mm512_maskz_unpackhi_epi32(0xffff, a, b));
    const __m512i cd = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(0xffff, c, d), _mm512_maskz_unpackhi_epi32(0xffff, c, d));
    const __m512i abcd = _mm512_add_epi32(_mm512_maskz_unpacklo_epi64(0xff, ab, cd), _mm512_maskz_unpackhi_epi64(0xff, ab, cd));
    const __m256i half = _mm256_add_epi32(lower_half(abcd), upper_half(abcd));
    return _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
}

enum Sum { kPr, kPi, kQr, kQi, kSums };

// The contract's epilogue for one row and token from the matrices' sums (before the zero-point
// correction), the same float operations in the same order as ref::widely_linear_int8.
void store_row(const WidelyLinearInt8Args& a, size_t row, size_t token, const int32_t (&sums)[quant::kMaxWidelyLinearMatrices][kSums]) {
    const quant::PackedWidelyLinear& w = *a.weights;
    const uint32_t zero_re = static_cast<uint32_t>(a.acts->sum[2 * token]), zero_im = static_cast<uint32_t>(a.acts->sum[2 * token + 1]);
    const float sr = a.acts->scale[2 * token], si = a.acts->scale[2 * token + 1];
    // Modulo 2^32, where the true sums fit.
    const auto exact = [](int32_t s, uint32_t zero) { return static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(s) - zero)); };
    float re = 0.0f, im = 0.0f;
    for (size_t j = 0; j < w.n_matrices; ++j) {
        const float pr = exact(sums[j][kPr], zero_re), pi = exact(sums[j][kPi], zero_im);
        const float qr = exact(sums[j][kQr], zero_re), qi = exact(sums[j][kQi], zero_im);
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
    a.out[token * a.out_stride + row] = re;
    a.out[token * a.out_stride + a.im_offset + row] = im;
}

// acc += dot products of unsigned codes and signed activations, as _mm512_dpbusd_epi32; the
// "+v" operand keeps each sum in one register (complex_matmul_avx512vnni.cpp: with the
// intrinsic GCC 12 copies them through the stack every chunk).
void dot_accumulate(__m512i& acc, __m512i codes, __m512i x) { asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(codes), "v"(x)); }

// Prefetch hints: the next tile's lines (widely_linear_matmul.h says why).

// Row `row` against Tokens tokens from token0, its NMat code blocks per chunk in one pass.
template <size_t NMat, int Tokens>
void row_sums(const WidelyLinearInt8Args& a, const Tables& tables, size_t row, size_t token0) {
    const quant::PackedWidelyLinear& w = *a.weights;
    const size_t chunk_stride = kRowTile * w.row_chunk_bytes();
    const uint8_t* codes = w.tile(row / kRowTile) + (row % kRowTile) * w.row_chunk_bytes();
    const int8_t* xr[Tokens];
    const int8_t* xi[Tokens];
    for (int t = 0; t < Tokens; ++t) {
        xr[t] = a.acts->row(2 * (token0 + t));
        xi[t] = a.acts->row(2 * (token0 + t) + 1);
    }
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    __m512i acc[Tokens][NMat][kSums];
    for (auto& token_acc : acc)
        for (auto& matrix_acc : token_acc)
            for (__m512i& v : matrix_acc) v = _mm512_setzero_si512();
    for (size_t chunk = 0, column = 0; chunk < w.n_chunks(); ++chunk, codes += chunk_stride, column += quant::kChunkCols) {
        if (token0 == 0)
            for (size_t j = 0; j < NMat; ++j)
                _mm_prefetch(reinterpret_cast<const char*>(codes + w.tile_bytes() + j * kChunkBytes), _MM_HINT_T1);
        for_each_plane([&]<int Plane>() {
            __m512i re[Tokens], im[Tokens];
            for (int t = 0; t < Tokens; ++t) {
                re[t] = _mm512_loadu_si512(xr[t] + column + 64 * Plane);
                im[t] = _mm512_loadu_si512(xi[t] + column + 64 * Plane);
            }
            for (size_t j = 0; j < NMat; ++j) {
                const __m512i packed = _mm512_load_si512(codes + j * kChunkBytes);
                const __m512i nibble = Plane < 2 ? _mm512_and_si512(packed, low4) : _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
                const __m512i p1 = _mm512_shuffle_epi8(Plane % 2 ? tables.p_high : tables.p_low, nibble);
                const __m512i q1 = _mm512_shuffle_epi8(Plane % 2 ? tables.q_high : tables.q_low, nibble);
                for (int t = 0; t < Tokens; ++t) {
                    __m512i* s = acc[t][j];
                    dot_accumulate(s[kPr], p1, re[t]);
                    dot_accumulate(s[kPi], p1, im[t]);
                    dot_accumulate(s[kQr], q1, re[t]);
                    dot_accumulate(s[kQi], q1, im[t]);
                }
            }
        });
    }
    for (int t = 0; t < Tokens; ++t) {
        alignas(16) int32_t sums[quant::kMaxWidelyLinearMatrices][kSums];
        for (size_t j = 0; j < NMat; ++j)
            _mm_store_si128(reinterpret_cast<__m128i*>(sums[j]), reduce_add4(acc[t][j][kPr], acc[t][j][kPi], acc[t][j][kQr], acc[t][j][kQi]));
        store_row(a, row, token0 + t, sums);
    }
}

}  // namespace

void widely_linear_int8(const WidelyLinearInt8Args& a) {
    const Tables tables = make_tables();
    const quant::PackedWidelyLinear& w = *a.weights;
    const size_t n_tokens = a.acts->n_tokens / 2;
    for (size_t row = a.tile_begin * kRowTile; row < a.tile_end * kRowTile && row < w.rows; ++row) {
        if (w.n_matrices == 2) {
            size_t t = 0;
            for (; t + 2 <= n_tokens; t += 2) row_sums<2, 2>(a, tables, row, t);
            if (t < n_tokens) row_sums<2, 1>(a, tables, row, t);
        } else {
            for (size_t t = 0; t < n_tokens; ++t) row_sums<4, 1>(a, tables, row, t);
        }
    }
}

}  // namespace tern::kernels::avx512vnni

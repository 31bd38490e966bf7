// Multiplication-free ternary matmul with AVX-512 (F/BW): masked add and masked subtract.
//
// Layout kSignPlanes (packed_ternary.h): per row tile and 256-column chunk, 4 rows x 64
// bytes; bit c of bytes 0..31 is set when column c is +1, bit c of bytes 32..63 when it is
// -1. A load of either plane straight into a mask register (kmovq/kmovd) is the mask for 64
// or 32 consecutive columns, so producing masks costs no vector ALU work at all. Zero
// weights cost nothing; no multiply instruction appears in either loop.
//
// GEMV works on bytes, 64 columns per instruction. Activations become unsigned u = x + 128;
// a masked add puts u in the "+1" lanes (zeroing the rest), a masked subtract puts 255 - u in
// the "-1" lanes, and vpsadbw against zero (a sum of absolute differences: additions only)
// adds each group of 8 bytes into a 64-bit lane. The lanes then hold
//   sum_{+1} (x + 128) + sum_{-1} (127 - x) = dot + 128 * n_plus + 127 * n_minus,
// and the row's constant sign_planes_bias (computed when the layout is built) is subtracted.
// Exact: 64-bit lanes cannot overflow, and the result is taken modulo 2^32, where the true
// dot product fits. Measured on Zen 4 (docs/performance.md): about 1.3-1.5x the int16 form
// below, which needs two 32-lane operations where this needs one 64-lane select.
//
// GEMM keeps 4 rows x up to 4 tokens of int16 accumulators in registers, with the masks
// loaded once per row chunk and shared by the tokens: acc += x under the "+1" mask and
// acc -= x under the "-1" mask, on activations converted to int16 once per call.
// Overflow: each int16 lane takes at most one +-x (|x| <= 128) per 32-column word, so a
// lane moves by at most 8 * 128 = 1024 per chunk; widening to int32 (sign extension, still
// no multiply) every 16 chunks keeps it below 2^15.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/check.h"
#include "kernels/kernel_scratch.h"
#include "kernels/ternary_matmul.h"

namespace tern::kernels::avx512 {
namespace {

using quant::kChunkBytes;
using quant::kChunkCols;
using quant::kRowTile;

constexpr size_t kFlushChunks = 16;
constexpr size_t kWords = 8;   // 32-column mask words per chunk (GEMM)
constexpr size_t kQuads = 4;   // 64-column mask words per chunk (GEMV)

// GCC 12's _mm512_reduce_add_epi32, 512->256 casts and unmasked extracts start from an
// "undefined" register that -Wuninitialized flags; the zero-masked forms avoid it.
__m256i lower_half(__m512i v) { return _mm512_maskz_extracti64x4_epi64(0xff, v, 0); }
__m256i upper_half(__m512i v) { return _mm512_maskz_extracti64x4_epi64(0xff, v, 1); }

int32_t reduce_add(__m512i v) {
    const __m256i s8 = _mm256_add_epi32(lower_half(v), upper_half(v));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

__m512i widen_add(__m512i acc32, __m512i acc16) {
    acc32 = _mm512_add_epi32(acc32, _mm512_maskz_cvtepi16_epi32(0xffff, lower_half(acc16)));
    return _mm512_add_epi32(acc32, _mm512_maskz_cvtepi16_epi32(0xffff, upper_half(acc16)));
}

__mmask32 load_mask(const uint8_t* p) {
    uint32_t bits;
    std::memcpy(&bits, p, sizeof bits);
    return static_cast<__mmask32>(bits);
}

// acc += x / acc -= x in the lanes of `mask`.
__m512i masked_add(__m512i acc, __mmask32 mask, __m512i x) { return _mm512_mask_add_epi16(acc, mask, acc, x); }
__m512i masked_sub(__m512i acc, __mmask32 mask, __m512i x) { return _mm512_mask_sub_epi16(acc, mask, acc, x); }

__m512i int16_columns(const int8_t* x) {
    return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
}

void store_result(const TernaryMatmulArgs& a, size_t row, size_t token, int32_t acc) {
    if (row >= a.weights->rows) return;
    a.out[token * a.out_stride + row] =
        static_cast<float>(acc) * a.acts->scale[token] * a.weights->row_scale[row];
}

// The hardware prefetcher stops at 4 KiB page ends; a streamed matrix stalls there without
// this (measured on the 4-token GEMM of a batched decode step).
constexpr size_t kPrefetchAhead = 2048;

void prefetch_ahead(const uint8_t* chunk) {
    for (size_t r = 0; r < kRowTile; ++r)
        _mm_prefetch(reinterpret_cast<const char*>(chunk + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
}

// 64 activations as unsigned bytes x + 128.
__m512i biased_columns(const int8_t* x) {
    return _mm512_xor_si512(_mm512_loadu_si512(x), _mm512_set1_epi8(static_cast<char>(0x80)));
}

__mmask64 load_mask64(const uint8_t* p) {
    uint64_t bits;
    std::memcpy(&bits, p, sizeof bits);
    return static_cast<__mmask64>(bits);
}

// Per group of 8 lanes: the sum of u over its "+1" lanes and of 255 - u over its "-1" lanes.
__m512i biased_signed_sums(__mmask64 plus, __mmask64 minus, __m512i u) {
    const __m512i picked = _mm512_maskz_add_epi8(plus, _mm512_setzero_si512(), u);
    const __m512i signed_bytes = _mm512_mask_sub_epi8(picked, minus, _mm512_set1_epi8(-1), u);
    return _mm512_sad_epu8(signed_bytes, _mm512_setzero_si512());
}

int64_t reduce_add_epi64(__m512i v) {
    const __m256i s4 = _mm256_add_epi64(lower_half(v), upper_half(v));
    const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
    return _mm_cvtsi128_si64(_mm_add_epi64(s2, _mm_unpackhi_epi64(s2, s2)));
}

void gemv_tile(const TernaryMatmulArgs& a, size_t tile, size_t token) {
    const quant::PackedTernary& w = *a.weights;
    const uint8_t* planes = w.tile(tile);
    const int8_t* x = a.acts->row(token);
    __m512i sums[kRowTile];
    for (__m512i& sum : sums) sum = _mm512_setzero_si512();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, planes += kRowTile * kChunkBytes) {
        prefetch_ahead(planes);
        __m512i u[kQuads];
        for (size_t q = 0; q < kQuads; ++q) u[q] = biased_columns(x + chunk * kChunkCols + 64 * q);
        for (size_t r = 0; r < kRowTile; ++r) {
            const uint8_t* plus = planes + r * kChunkBytes;
            const uint8_t* minus = plus + 32;
            for (size_t q = 0; q < kQuads; ++q) {
                sums[r] = _mm512_add_epi64(sums[r], biased_signed_sums(load_mask64(plus + 8 * q), load_mask64(minus + 8 * q), u[q]));
            }
        }
    }
    for (size_t r = 0; r < kRowTile; ++r) {
        const size_t row = tile * kRowTile + r;
        // Exact modulo 2^32, and the true dot product fits in int32.
        const uint32_t biased = static_cast<uint32_t>(reduce_add_epi64(sums[r]));
        store_result(a, row, token, static_cast<int32_t>(biased - w.sign_planes_bias[row]));
    }
}

// Every token's activations as int16 into out: [token][cols_padded].
void int16_activations(const quant::Int8Activations& acts, int16_t* out) {
    for (size_t t = 0; t < acts.n_tokens; ++t) {
        for (size_t k = 0; k < acts.cols_padded; k += 32) {
            _mm512_storeu_si512(out + t * acts.cols_padded + k, int16_columns(acts.row(t) + k));
        }
    }
}

template <int Tokens>
void gemm_tile(const TernaryMatmulArgs& a, const int16_t* acts16, size_t tile, size_t token0) {
    const quant::PackedTernary& w = *a.weights;
    const size_t stride = w.cols_padded;
    const uint8_t* planes = w.tile(tile);
    __m512i acc16[kRowTile][Tokens];
    alignas(64) int32_t acc32[kRowTile][Tokens][16] = {};
    for (auto& row_acc : acc16) std::fill(row_acc, row_acc + Tokens, _mm512_setzero_si512());

    auto flush = [&] {
        for (size_t r = 0; r < kRowTile; ++r) {
            for (int t = 0; t < Tokens; ++t) {
                _mm512_store_si512(acc32[r][t], widen_add(_mm512_load_si512(acc32[r][t]), acc16[r][t]));
                acc16[r][t] = _mm512_setzero_si512();
            }
        }
    };
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, planes += kRowTile * kChunkBytes) {
        prefetch_ahead(planes);
        for (size_t m = 0; m < kWords; ++m) {
            for (size_t r = 0; r < kRowTile; r += 2) {
                const uint8_t* p0 = planes + r * kChunkBytes + 4 * m;
                const uint8_t* p1 = p0 + kChunkBytes;
                const __mmask32 plus0 = load_mask(p0), minus0 = load_mask(p0 + 32);
                const __mmask32 plus1 = load_mask(p1), minus1 = load_mask(p1 + 32);
                for (int t = 0; t < Tokens; ++t) {
                    const __m512i x = _mm512_loadu_si512(acts16 + (token0 + t) * stride + chunk * kChunkCols + 32 * m);
                    acc16[r][t] = masked_add(acc16[r][t], plus0, x);
                    acc16[r][t] = masked_sub(acc16[r][t], minus0, x);
                    acc16[r + 1][t] = masked_add(acc16[r + 1][t], plus1, x);
                    acc16[r + 1][t] = masked_sub(acc16[r + 1][t], minus1, x);
                }
            }
        }
        // 8 words per chunk, each +-128 at most: 1024 per chunk per lane, flushed by 16 chunks.
        if ((chunk + 1) % kFlushChunks == 0) flush();
    }
    flush();
    for (size_t r = 0; r < kRowTile; ++r) {
        for (int t = 0; t < Tokens; ++t) {
            store_result(a, tile * kRowTile + r, token0 + t, reduce_add(_mm512_load_si512(acc32[r][t])));
        }
    }
}

}  // namespace

void ternary_gemv(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == quant::TernaryLayout::kSignPlanes);
    TERN_CHECK(a.weights->sign_planes_bias.size() == a.weights->rows_padded);
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        for (size_t t = 0; t < a.acts->n_tokens; ++t) gemv_tile(a, tile, t);
    }
}

void ternary_gemm(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == quant::TernaryLayout::kSignPlanes);
    const KernelScratch acts16_memory(a.acts->n_tokens * a.acts->cols_padded * sizeof(int16_t));
    int16_t* const acts16 = static_cast<int16_t*>(acts16_memory.data());
    int16_activations(*a.acts, acts16);
    const size_t n_tokens = a.acts->n_tokens;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        size_t t = 0;
        for (; t + 4 <= n_tokens; t += 4) gemm_tile<4>(a, acts16, tile, t);
        switch (n_tokens - t) {
            case 3: gemm_tile<3>(a, acts16, tile, t); break;
            case 2: gemm_tile<2>(a, acts16, tile, t); break;
            case 1: gemm_tile<1>(a, acts16, tile, t); break;
            default: break;
        }
    }
}

}  // namespace tern::kernels::avx512

// Ternary matmul with AVX2.
//
// Layout (packed_ternary.h): per row tile and 256-column chunk, 4 rows x 64 bytes; byte b of
// a row holds codes w + 1 of columns 64p + b in bits 2p..2p+1. AVX2 takes the 64 bytes as two
// 32-byte halves h; plane p of half h covers the 32 contiguous columns 64p + 32h.
// vpmaddubsw multiplies the unsigned codes {0, 1, 2} by signed int8 activations and adds
// pairs into int16: |pair| <= 2 * 2 * 128 = 512, so it never saturates; the eight products of
// one chunk (4 planes x 2 halves) sum to at most 4096 per int16 lane before vpmaddwd with ones
// widens them to int32. The result is sum (w + 1) * x; the token's sum of x is subtracted at
// the end (zero-point correction).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "core/check.h"
#include "kernels/ternary_matmul.h"

namespace tern::kernels::avx2 {
namespace {

using quant::kChunkBytes;
using quant::kChunkCols;
using quant::kRowTile;

template <int Plane>
__m256i unpack_plane(__m256i packed) {
    const __m256i low2 = _mm256_set1_epi8(3);
    if constexpr (Plane == 0) return _mm256_and_si256(packed, low2);
    else return _mm256_and_si256(_mm256_srli_epi16(packed, 2 * Plane), low2);
}

int32_t horizontal_sum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

void store_result(const TernaryMatmulArgs& a, size_t row, size_t token, int32_t acc) {
    if (row >= a.weights->rows) return;
    a.out[token * a.out_stride + row] =
        static_cast<float>(acc) * a.acts->scale[token] * a.weights->row_scale[row];
}

// Sum over one 256-column chunk of one row for one token, as int16 pairs.
__m256i chunk_products(const uint8_t* row_codes, const int8_t* x) {
    __m256i sum = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
        const __m256i packed = _mm256_load_si256(reinterpret_cast<const __m256i*>(row_codes + 32 * half));
        const int8_t* xh = x + 32 * half;
        auto x_at = [&](int plane) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xh + 64 * plane)); };
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(unpack_plane<0>(packed), x_at(0)));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(unpack_plane<1>(packed), x_at(1)));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(unpack_plane<2>(packed), x_at(2)));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(unpack_plane<3>(packed), x_at(3)));
    }
    return sum;
}

// The hardware prefetcher stops at 4 KiB page ends; a streamed multi-token GEMM stalls there
// without this (4 tokens: 20-30 % faster). Single-token GEMV measured no better with it.
constexpr size_t kPrefetchAhead = 2048;

template <int Tokens>
void tile_kernel(const TernaryMatmulArgs& a, size_t tile, size_t token0) {
    const quant::PackedTernary& w = *a.weights;
    const quant::Int8Activations& acts = *a.acts;
    const uint8_t* codes = w.tile(tile);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[kRowTile][Tokens];
    for (auto& row_acc : acc) std::fill(row_acc, row_acc + Tokens, _mm256_setzero_si256());
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes) {
        for (size_t r = 0; r < kRowTile; ++r) {
            if constexpr (Tokens > 1)
                _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
            for (int t = 0; t < Tokens; ++t) {
                const __m256i pairs = chunk_products(codes + r * kChunkBytes, acts.row(token0 + t) + chunk * kChunkCols);
                acc[r][t] = _mm256_add_epi32(acc[r][t], _mm256_madd_epi16(pairs, ones));
            }
        }
    }
    for (size_t r = 0; r < kRowTile; ++r) {
        for (int t = 0; t < Tokens; ++t) {
            store_result(a, tile * kRowTile + r, token0 + t, horizontal_sum(acc[r][t]) - acts.sum[token0 + t]);
        }
    }
}

}  // namespace

void ternary_gemv(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == quant::TernaryLayout::kCodes);
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        for (size_t t = 0; t < a.acts->n_tokens; ++t) tile_kernel<1>(a, tile, t);
    }
}

void ternary_gemm(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == quant::TernaryLayout::kCodes);
    const size_t n_tokens = a.acts->n_tokens;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        size_t t = 0;
        for (; t + 2 <= n_tokens; t += 2) tile_kernel<2>(a, tile, t);
        if (t < n_tokens) tile_kernel<1>(a, tile, t);
    }
}

}  // namespace tern::kernels::avx2

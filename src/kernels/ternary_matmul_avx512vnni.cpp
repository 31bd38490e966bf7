// Ternary matmul with AVX-512 VNNI dot products.
//
// Layout (packed_ternary.h): per row tile and 256-column chunk, 4 rows x 64 bytes; byte b of
// a row holds codes w + 1 of columns 64p + b in bits 2p..2p+1. One shift + one AND per plane
// p gives 64 unsigned codes in {0, 1, 2} that line up with 64 contiguous int8 activations.
// vpdpbusd multiplies unsigned codes by signed activations and adds groups of four into
// int32 lanes, so acc = sum (w + 1) * x = sum w * x + sum x; the per-token sum of x
// (Int8Activations::sum, padding is zero) is subtracted once at the end (zero-point
// correction). Overflow: a lane gains at most 4 * 2 * 128 = 1024 per instruction and K is
// capped at 2^24 columns, so int32 lanes and the final sum stay exact.
//
// GEMV keeps two accumulators per row (planes 0,2 and 1,3) so that four rows give eight
// independent dependency chains for the dot-product latency. GEMM unpacks a tile's planes
// once per chunk and reuses them for up to four tokens: 16 accumulators, 4 code registers.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "core/check.h"
#include "kernels/ternary_matmul.h"

namespace tern::kernels::avx512vnni {
namespace {

using quant::kChunkBytes;
using quant::kChunkCols;
using quant::kRowTile;

template <int Plane>
__m512i unpack_plane(__m512i packed) {
    const __m512i low2 = _mm512_set1_epi8(3);
    if constexpr (Plane == 0) return _mm512_and_si512(packed, low2);
    else return _mm512_and_si512(_mm512_srli_epi16(packed, 2 * Plane), low2);
}

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

void store_result(const TernaryMatmulArgs& a, size_t row, size_t token, int32_t acc) {
    if (row >= a.weights->rows) return;
    a.out[token * a.out_stride + row] =
        static_cast<float>(acc) * a.acts->scale[token] * a.weights->row_scale[row];
}

constexpr size_t kPrefetchAhead = 2048;

void gemv_tile(const TernaryMatmulArgs& a, size_t tile, size_t token) {
    const quant::PackedTernary& w = *a.weights;
    const uint8_t* codes = w.tile(tile);
    const int8_t* x = a.acts->row(token);
    __m512i acc_a[kRowTile], acc_b[kRowTile];
    for (size_t r = 0; r < kRowTile; ++r) acc_a[r] = acc_b[r] = _mm512_setzero_si512();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes, x += kChunkCols) {
        const __m512i x0 = _mm512_loadu_si512(x), x1 = _mm512_loadu_si512(x + 64);
        const __m512i x2 = _mm512_loadu_si512(x + 128), x3 = _mm512_loadu_si512(x + 192);
        for (size_t r = 0; r < kRowTile; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
            const __m512i packed = _mm512_load_si512(codes + r * kChunkBytes);
            acc_a[r] = _mm512_dpbusd_epi32(acc_a[r], unpack_plane<0>(packed), x0);
            acc_b[r] = _mm512_dpbusd_epi32(acc_b[r], unpack_plane<1>(packed), x1);
            acc_a[r] = _mm512_dpbusd_epi32(acc_a[r], unpack_plane<2>(packed), x2);
            acc_b[r] = _mm512_dpbusd_epi32(acc_b[r], unpack_plane<3>(packed), x3);
        }
    }
    for (size_t r = 0; r < kRowTile; ++r) {
        const int32_t acc = reduce_add(_mm512_add_epi32(acc_a[r], acc_b[r])) - a.acts->sum[token];
        store_result(a, tile * kRowTile + r, token, acc);
    }
}

template <int Tokens>
void gemm_tile(const TernaryMatmulArgs& a, size_t tile, size_t token0) {
    const quant::PackedTernary& w = *a.weights;
    const quant::Int8Activations& acts = *a.acts;
    const uint8_t* codes = w.tile(tile);
    __m512i acc[kRowTile][Tokens];
    for (auto& row_acc : acc) std::fill(row_acc, row_acc + Tokens, _mm512_setzero_si512());

    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes) {
        __m512i packed[kRowTile];
        for (size_t r = 0; r < kRowTile; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
            packed[r] = _mm512_load_si512(codes + r * kChunkBytes);
        }
        auto plane_step = [&]<int Plane>() {
            __m512i plane[kRowTile];
            for (size_t r = 0; r < kRowTile; ++r) plane[r] = unpack_plane<Plane>(packed[r]);
            for (int t = 0; t < Tokens; ++t) {
                const __m512i x = _mm512_loadu_si512(acts.row(token0 + t) + chunk * kChunkCols + 64 * Plane);
                for (size_t r = 0; r < kRowTile; ++r) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], plane[r], x);
            }
        };
        plane_step.template operator()<0>();
        plane_step.template operator()<1>();
        plane_step.template operator()<2>();
        plane_step.template operator()<3>();
    }
    for (size_t r = 0; r < kRowTile; ++r) {
        for (int t = 0; t < Tokens; ++t) {
            const int32_t sum = reduce_add(acc[r][t]) - acts.sum[token0 + t];
            store_result(a, tile * kRowTile + r, token0 + t, sum);
        }
    }
}

}  // namespace

void ternary_gemv(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == quant::TernaryLayout::kCodes);
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        for (size_t t = 0; t < a.acts->n_tokens; ++t) gemv_tile(a, tile, t);
    }
}

void ternary_gemm(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == quant::TernaryLayout::kCodes);
    const size_t n_tokens = a.acts->n_tokens;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        size_t t = 0;
        for (; t + 4 <= n_tokens; t += 4) gemm_tile<4>(a, tile, t);
        switch (n_tokens - t) {
            case 3: gemm_tile<3>(a, tile, t); break;
            case 2: gemm_tile<2>(a, tile, t); break;
            case 1: gemm_tile<1>(a, tile, t); break;
            default: break;
        }
    }
}

}  // namespace tern::kernels::avx512vnni

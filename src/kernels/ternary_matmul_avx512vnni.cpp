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
constexpr int kGemmTokens = 4;   // tokens per pass over a tile in GEMM

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

// The four 16-lane sums of a, b, c, d in one vector: pairwise interleaves add each row's
// lanes within 128-bit lanes, then the four 128-bit lanes are added (13 instructions for four
// sums instead of 9 for each).
__m128i reduce_add4(__m512i a, __m512i b, __m512i c, __m512i d) {
    const __m512i ab = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(0xffff, a, b), _mm512_maskz_unpackhi_epi32(0xffff, a, b));
    const __m512i cd = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(0xffff, c, d), _mm512_maskz_unpackhi_epi32(0xffff, c, d));
    const __m512i abcd = _mm512_add_epi32(_mm512_maskz_unpacklo_epi64(0xff, ab, cd), _mm512_maskz_unpackhi_epi64(0xff, ab, cd));
    const __m256i half = _mm256_add_epi32(lower_half(abcd), upper_half(abcd));
    return _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
}

// The contract's epilogue for one token and the four rows of a tile, lane by lane the same
// two multiplies as store_result; padding rows are masked out of the store.
void store_tile_results(const TernaryMatmulArgs& a, size_t tile, size_t token, __m128i sums) {
    const size_t row0 = tile * kRowTile;
    const size_t real = std::min(kRowTile, a.weights->rows - row0);
    const __mmask8 rows = static_cast<__mmask8>((1u << real) - 1);
    const __m128i acc = _mm_sub_epi32(sums, _mm_set1_epi32(a.acts->sum[token]));
    const __m128 scaled = _mm_mul_ps(_mm_cvtepi32_ps(acc), _mm_set1_ps(a.acts->scale[token]));
    const __m128 out = _mm_mul_ps(scaled, _mm_maskz_loadu_ps(rows, &a.weights->row_scale[row0]));
    _mm_mask_storeu_ps(a.out + token * a.out_stride + row0, rows, out);
}

// A tile's four rows for up to four tokens: 16 accumulators, 4 unpacked planes and one
// activation register. Each plane is unpacked once per token group and feeds 4 x Tokens
// dot products; the packed codes are reloaded from L1 per plane. (Six tokens, 24
// accumulators, measured 5-15 % slower on Zen 4.)
template <int Tokens>
void gemm_tile(const TernaryMatmulArgs& a, size_t tile, size_t token0) {
    const quant::PackedTernary& w = *a.weights;
    const quant::Int8Activations& acts = *a.acts;
    const uint8_t* codes = w.tile(tile);
    __m512i acc[kRowTile][Tokens];
    for (auto& row_acc : acc) std::fill(row_acc, row_acc + Tokens, _mm512_setzero_si512());

    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes) {
        for (size_t r = 0; r < kRowTile; ++r)
            _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
        auto plane_step = [&]<int Plane>() {
            __m512i plane[kRowTile];
            for (size_t r = 0; r < kRowTile; ++r) plane[r] = unpack_plane<Plane>(_mm512_load_si512(codes + r * kChunkBytes));
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
    for (int t = 0; t < Tokens; ++t)
        store_tile_results(a, tile, token0 + t, reduce_add4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]));
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
        for (; t + kGemmTokens <= n_tokens; t += kGemmTokens) gemm_tile<kGemmTokens>(a, tile, t);
        switch (n_tokens - t) {
            case 5: gemm_tile<5>(a, tile, t); break;
            case 4: gemm_tile<4>(a, tile, t); break;
            case 3: gemm_tile<3>(a, tile, t); break;
            case 2: gemm_tile<2>(a, tile, t); break;
            case 1: gemm_tile<1>(a, tile, t); break;
            default: break;
        }
    }
}

}  // namespace tern::kernels::avx512vnni

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
// The base-3 layout (kBase3, 1.6 bits per weight) decodes five planes per byte instead of four
// (times3, base3_codes); the codes are the same {0, 1, 2}, so are the dot products and the
// correction.
//
// GEMV keeps two accumulators per row (alternating planes) so that four rows give eight
// independent dependency chains for the dot-product latency. GEMM decodes a tile's planes
// once per chunk and reuses them for up to four tokens: 16 accumulators, 4 plane registers.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "core/check.h"
#include "kernels/ternary_matmul.h"

namespace tern::kernels::avx512vnni {
namespace {

using quant::kChunkBytes;
using quant::kRowTile;

template <int Plane>
__m512i unpack_plane(__m512i packed) {
    const __m512i low2 = _mm512_set1_epi8(3);
    if constexpr (Plane == 0) return _mm512_and_si512(packed, low2);
    else return _mm512_and_si512(_mm512_srli_epi16(packed, 2 * Plane), low2);
}

// Byte-wise m * 3 (mod 256).
__m512i times3(__m512i m) { return _mm512_add_epi8(m, _mm512_add_epi8(m, m)); }

// floor(3m / 256) per byte: 0 below 86, 1 from 86, 2 from 171.
__m512i base3_codes(__m512i m) {
    const __m512i one = _mm512_set1_epi8(1);
    const __m512i codes = _mm512_maskz_mov_epi8(_mm512_cmpge_epu8_mask(m, _mm512_set1_epi8(86)), one);
    return _mm512_mask_add_epi8(codes, _mm512_cmpge_epu8_mask(m, _mm512_set1_epi8(static_cast<char>(171))), codes, one);
}

// The codes of plane Plane (of Planes) of one row chunk, planes taken in increasing order.
// `state` is the packed bytes; for base-3 it becomes the running product q * 3^(Plane + 1).
template <quant::TernaryLayout Layout, int Plane, size_t Planes>
__m512i plane_codes(__m512i& state) {
    if constexpr (Layout == quant::TernaryLayout::kBase3) {
        const __m512i codes = base3_codes(state);
        if constexpr (Plane + 1 < Planes) state = times3(state);
        return codes;
    } else {
        return unpack_plane<Plane>(state);
    }
}

// Calls step.template operator()<p>() for p = 0 .. Planes - 1, in order.
template <size_t Planes, class Step>
void for_each_plane(Step&& step) {
    step.template operator()<0>();
    step.template operator()<1>();
    step.template operator()<2>();
    step.template operator()<3>();
    if constexpr (Planes == 5) step.template operator()<4>();
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

template <quant::TernaryLayout Layout>
void gemv_tile(const TernaryMatmulArgs& a, size_t tile, size_t token) {
    constexpr size_t kPlanes = quant::layout_chunk_cols(Layout) / 64;
    const quant::PackedTernary& w = *a.weights;
    const uint8_t* codes = w.tile(tile);
    const int8_t* x = a.acts->row(token);
    __m512i acc_a[kRowTile], acc_b[kRowTile];
    for (size_t r = 0; r < kRowTile; ++r) acc_a[r] = acc_b[r] = _mm512_setzero_si512();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes, x += kPlanes * 64) {
        __m512i xs[kPlanes];
        for (size_t p = 0; p < kPlanes; ++p) xs[p] = _mm512_loadu_si512(x + 64 * p);
        for (size_t r = 0; r < kRowTile; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
            __m512i state = _mm512_load_si512(codes + r * kChunkBytes);
            for_each_plane<kPlanes>([&]<int Plane>() {
                __m512i& acc = Plane % 2 == 0 ? acc_a[r] : acc_b[r];
                acc = _mm512_dpbusd_epi32(acc, plane_codes<Layout, Plane, kPlanes>(state), xs[Plane]);
            });
        }
    }
    for (size_t r = 0; r < kRowTile; ++r) {
        const int32_t acc = reduce_add(_mm512_add_epi32(acc_a[r], acc_b[r])) - a.acts->sum[token];
        store_result(a, tile * kRowTile + r, token, acc);
    }
}

template <quant::TernaryLayout Layout>
void gemv(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == Layout);
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        for (size_t t = 0; t < a.acts->n_tokens; ++t) gemv_tile<Layout>(a, tile, t);
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

// A tile's four rows for up to four tokens: 16 accumulators, 4 plane registers and one
// activation register. Each plane is decoded once per token group and feeds 4 x Tokens dot
// products. It serves the base-3 layout and the last 1-3 tokens of the 2-bit one; the 2-bit
// four-token tile is gemm_tile_codes4 below. (Measured slower on Zen 4: six tokens with 24
// accumulators, 5-15 %; decoding a tile once per call into an L1 buffer and reloading the
// codes per token group, 10-60 %.)
template <quant::TernaryLayout Layout, int Tokens>
void gemm_tile(const TernaryMatmulArgs& a, size_t tile, size_t token0) {
    constexpr size_t kPlanes = quant::layout_chunk_cols(Layout) / 64;
    const quant::PackedTernary& w = *a.weights;
    const quant::Int8Activations& acts = *a.acts;
    const uint8_t* codes = w.tile(tile);
    __m512i acc[kRowTile][Tokens];
    for (auto& row_acc : acc) std::fill(row_acc, row_acc + Tokens, _mm512_setzero_si512());

    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes) {
        __m512i state[kRowTile];   // base-3: the running product, kept across planes
        for (size_t r = 0; r < kRowTile; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
            if constexpr (Layout == quant::TernaryLayout::kBase3) state[r] = _mm512_load_si512(codes + r * kChunkBytes);
        }
        for_each_plane<kPlanes>([&]<int Plane>() {
            __m512i plane[kRowTile];
            for (size_t r = 0; r < kRowTile; ++r) {
                // 2-bit: reloaded from L1 per plane, measured faster than keeping it in a register.
                if constexpr (Layout != quant::TernaryLayout::kBase3) state[r] = _mm512_load_si512(codes + r * kChunkBytes);
                plane[r] = plane_codes<Layout, Plane, kPlanes>(state[r]);
            }
            for (int t = 0; t < Tokens; ++t) {
                const __m512i x = _mm512_loadu_si512(acts.row(token0 + t) + chunk * kPlanes * 64 + 64 * Plane);
                for (size_t r = 0; r < kRowTile; ++r) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], plane[r], x);
            }
        });
    }
    for (int t = 0; t < Tokens; ++t)
        store_tile_results(a, tile, token0 + t, reduce_add4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]));
}

// acc += dot products of unsigned codes and signed activations, as _mm512_dpbusd_epi32. GCC 12
// moves the 16 accumulators of a tile from register to register every chunk (about 30
// vmovdqa per 64 vpdpbusd, and two stack spills) when they are intrinsic results; the "+v"
// operand keeps each sum in one register for the whole loop.
void dot_accumulate(__m512i& acc, __m512i codes, __m512i x) { asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(codes), "v"(x)); }

// The 16 sums of a 4-row, 4-token tile, by name: held in an array, GCC rotates them (above).
struct TileSums {
    __m512i r0t0, r0t1, r0t2, r0t3, r1t0, r1t1, r1t2, r1t3, r2t0, r2t1, r2t2, r2t3, r3t0, r3t1, r3t2, r3t3;
};

// Plane Plane of the 256-column chunk at `chunk_column`: 4 rows of codes against 4 tokens.
template <int Plane>
void tile_plane(TileSums& s, const uint8_t* codes, const int8_t* const x[4], size_t chunk_column) {
    const size_t column = chunk_column + 64 * Plane;
    const __m512i w0 = unpack_plane<Plane>(_mm512_load_si512(codes)),
                  w1 = unpack_plane<Plane>(_mm512_load_si512(codes + kChunkBytes)),
                  w2 = unpack_plane<Plane>(_mm512_load_si512(codes + 2 * kChunkBytes)),
                  w3 = unpack_plane<Plane>(_mm512_load_si512(codes + 3 * kChunkBytes));
    const __m512i x0 = _mm512_loadu_si512(x[0] + column);
    dot_accumulate(s.r0t0, w0, x0), dot_accumulate(s.r1t0, w1, x0), dot_accumulate(s.r2t0, w2, x0), dot_accumulate(s.r3t0, w3, x0);
    const __m512i x1 = _mm512_loadu_si512(x[1] + column);
    dot_accumulate(s.r0t1, w0, x1), dot_accumulate(s.r1t1, w1, x1), dot_accumulate(s.r2t1, w2, x1), dot_accumulate(s.r3t1, w3, x1);
    const __m512i x2 = _mm512_loadu_si512(x[2] + column);
    dot_accumulate(s.r0t2, w0, x2), dot_accumulate(s.r1t2, w1, x2), dot_accumulate(s.r2t2, w2, x2), dot_accumulate(s.r3t2, w3, x2);
    const __m512i x3 = _mm512_loadu_si512(x[3] + column);
    dot_accumulate(s.r0t3, w0, x3), dot_accumulate(s.r1t3, w1, x3), dot_accumulate(s.r2t3, w2, x3), dot_accumulate(s.r3t3, w3, x3);
}

// gemm_tile<kCodes, 4>, the prefill's hot loop, with the sums pinned to registers: 7-17 % more
// dot products per second than the generic tile on Zen 4 (standalone, K = 2560 and 6912).
void gemm_tile_codes4(const TernaryMatmulArgs& a, size_t tile, size_t token0) {
    const quant::PackedTernary& w = *a.weights;
    const uint8_t* codes = w.tile(tile);
    const __m512i z = _mm512_setzero_si512();
    TileSums s{z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z};
    const int8_t* const x[4] = {a.acts->row(token0), a.acts->row(token0 + 1), a.acts->row(token0 + 2),
                                a.acts->row(token0 + 3)};
    for (size_t chunk = 0, column = 0; chunk < w.n_chunks();
         ++chunk, codes += kRowTile * kChunkBytes, column += quant::kChunkCols) {
        for (size_t r = 0; r < kRowTile; ++r)
            _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
        tile_plane<0>(s, codes, x, column);
        tile_plane<1>(s, codes, x, column);
        tile_plane<2>(s, codes, x, column);
        tile_plane<3>(s, codes, x, column);
    }
    store_tile_results(a, tile, token0, reduce_add4(s.r0t0, s.r1t0, s.r2t0, s.r3t0));
    store_tile_results(a, tile, token0 + 1, reduce_add4(s.r0t1, s.r1t1, s.r2t1, s.r3t1));
    store_tile_results(a, tile, token0 + 2, reduce_add4(s.r0t2, s.r1t2, s.r2t2, s.r3t2));
    store_tile_results(a, tile, token0 + 3, reduce_add4(s.r0t3, s.r1t3, s.r2t3, s.r3t3));
}

template <quant::TernaryLayout Layout>
void gemm(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == Layout);
    const size_t n_tokens = a.acts->n_tokens;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        size_t t = 0;
        for (; t + kGemmTokens <= n_tokens; t += kGemmTokens) {
            if constexpr (Layout == quant::TernaryLayout::kCodes) gemm_tile_codes4(a, tile, t);
            else gemm_tile<Layout, kGemmTokens>(a, tile, t);
        }
        switch (n_tokens - t) {
            case 3: gemm_tile<Layout, 3>(a, tile, t); break;
            case 2: gemm_tile<Layout, 2>(a, tile, t); break;
            case 1: gemm_tile<Layout, 1>(a, tile, t); break;
            default: break;
        }
    }
}

}  // namespace

void ternary_gemv(const TernaryMatmulArgs& a) { gemv<quant::TernaryLayout::kCodes>(a); }
void ternary_gemm(const TernaryMatmulArgs& a) { gemm<quant::TernaryLayout::kCodes>(a); }
void ternary_gemv_base3(const TernaryMatmulArgs& a) { gemv<quant::TernaryLayout::kBase3>(a); }
void ternary_gemm_base3(const TernaryMatmulArgs& a) { gemm<quant::TernaryLayout::kBase3>(a); }

}  // namespace tern::kernels::avx512vnni

// Ternary matmul with AVX2.
//
// Layout (packed_ternary.h): per row tile and 64-byte row chunk, plane p of the chunk covers
// 64 contiguous columns. AVX2 takes the 64 bytes as two 32-byte halves h; plane p of half h
// covers the 32 contiguous columns 64p + 32h. kCodes has four planes (one shift and one AND
// each); kBase3 has five, decoded by walking the byte-wise product q * 3^p (below).
// vpmaddubsw multiplies the unsigned codes {0, 1, 2} by signed int8 activations and adds
// pairs into int16: |pair| <= 2 * 2 * 128 = 512, so it never saturates; the products of one
// chunk (at most 5 planes x 2 halves) sum to at most 5120 per int16 lane before vpmaddwd with
// ones widens them to int32. The result is sum (w + 1) * x; the token's sum of x is
// subtracted at the end (zero-point correction).
//
// GEMV walks a tile's four rows chunk by chunk (one contiguous stream for the prefetcher).
// GEMM does the same for two tokens at a time, each row chunk decoded once for both (which
// matters for base 3: its decoding is four times the 2-bit one). Measured slower on Zen 3:
// one row at a time against four tokens (30-60 %, GCC spills the partial sums), and an asm
// add that stops those spills (30 %). Two rows against four tokens with the int16 sums pinned
// to registers and widened every four chunks (8 vpmaddubsw per 2 decodes) was bit-exact but no
// faster in the model, and slower standalone (docs/performance.md, session 13).
#include <immintrin.h>

#include <cstdint>

#include "core/check.h"
#include "kernels/ternary_matmul.h"

namespace tern::kernels::avx2 {
namespace {

using quant::kChunkBytes;
using quant::kRowTile;
using quant::TernaryLayout;

template <int Plane>
__m256i unpack_plane(__m256i packed) {
    const __m256i low2 = _mm256_set1_epi8(3);
    if constexpr (Plane == 0) return _mm256_and_si256(packed, low2);
    else return _mm256_and_si256(_mm256_srli_epi16(packed, 2 * Plane), low2);
}

// Base 3 works on the biased byte s = m ^ 0x80 of the running product m = q * 3^p mod 256, so
// that AVX2's signed compares order m: the code floor(3m / 256) is [m >= 86] + [m >= 171], that
// is [s > -43] + [s > 42]. Biasing commutes with the walk: (3m mod 256) ^ 0x80 = 3s mod 256.
__m256i bias_base3(__m256i packed) { return _mm256_xor_si256(packed, _mm256_set1_epi8(static_cast<char>(0x80))); }

__m256i base3_codes(__m256i s) {
    const __m256i at_least_one = _mm256_cmpgt_epi8(s, _mm256_set1_epi8(-43));   // 0 or -1
    const __m256i two = _mm256_cmpgt_epi8(s, _mm256_set1_epi8(42));
    return _mm256_abs_epi8(_mm256_add_epi8(at_least_one, two));
}

__m256i times3(__m256i s) { return _mm256_add_epi8(s, _mm256_add_epi8(s, s)); }

template <TernaryLayout Layout>
constexpr int kPlanes = static_cast<int>(quant::layout_chunk_cols(Layout) / 64);

// One 32-byte half of a row chunk, ready for plane_codes.
template <TernaryLayout Layout>
__m256i load_half(const uint8_t* half_codes) {
    const __m256i packed = _mm256_load_si256(reinterpret_cast<const __m256i*>(half_codes));
    if constexpr (Layout == TernaryLayout::kBase3) return bias_base3(packed);
    else return packed;
}

// The codes of plane Plane; for base 3, `state` advances to the next plane's product.
template <TernaryLayout Layout, int Plane>
__m256i plane_codes(__m256i& state) {
    if constexpr (Layout == TernaryLayout::kBase3) {
        const __m256i codes = base3_codes(state);
        if constexpr (Plane + 1 < kPlanes<Layout>) state = times3(state);
        return codes;
    } else {
        return unpack_plane<Plane>(state);
    }
}

// Calls step.template operator()<p>() for p = 0 .. Planes - 1, in order.
template <int Planes, class Step>
void for_each_plane(Step&& step) {
    step.template operator()<0>();
    step.template operator()<1>();
    step.template operator()<2>();
    step.template operator()<3>();
    if constexpr (Planes == 5) step.template operator()<4>();
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

// One row chunk against Tokens tokens: adds each token's int16 pair sums to pairs[t]. x[t]
// points at the chunk's first activation of token t. Forced inline: as a call (GCC 12 made
// it one) the sums go through memory and the GEMV ran at half speed.
template <TernaryLayout Layout, int Tokens>
[[gnu::always_inline]] inline void chunk_products(const uint8_t* row_codes, const int8_t* const x[Tokens], __m256i pairs[Tokens]) {
    for (int half = 0; half < 2; ++half) {
        __m256i state = load_half<Layout>(row_codes + 32 * half);
        for_each_plane<kPlanes<Layout>>([&]<int Plane>() {
            const __m256i codes = plane_codes<Layout, Plane>(state);
            for (int t = 0; t < Tokens; ++t) {
                const __m256i xs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[t] + 64 * Plane + 32 * half));
                pairs[t] = _mm256_add_epi16(pairs[t], _mm256_maddubs_epi16(codes, xs));
            }
        });
    }
}

// The hardware prefetcher stops at 4 KiB page ends. A streamed multi-token GEMM stalls there
// without this; on Zen 3 the GEMV too (10-15 % faster with it on one thread, 2B4T shapes).
constexpr size_t kPrefetchAhead = 2048;

template <TernaryLayout Layout>
void gemv_tile(const TernaryMatmulArgs& a, size_t tile, size_t token) {
    const quant::PackedTernary& w = *a.weights;
    const uint8_t* codes = w.tile(tile);
    const int8_t* x = a.acts->row(token);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[kRowTile];
    for (__m256i& v : acc) v = _mm256_setzero_si256();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes, x += kPlanes<Layout> * 64) {
        for (size_t r = 0; r < kRowTile; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
            __m256i pairs[1] = {_mm256_setzero_si256()};
            chunk_products<Layout, 1>(codes + r * kChunkBytes, &x, pairs);
            acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(pairs[0], ones));
        }
    }
    for (size_t r = 0; r < kRowTile; ++r)
        store_result(a, tile * kRowTile + r, token, horizontal_sum(acc[r]) - a.acts->sum[token]);
}

constexpr int kGemmTokens = 2;   // tokens per pass over a tile

// A tile's four rows against Tokens tokens from token0.
template <TernaryLayout Layout, int Tokens>
void gemm_tile(const TernaryMatmulArgs& a, size_t tile, size_t token0) {
    const quant::PackedTernary& w = *a.weights;
    const uint8_t* codes = w.tile(tile);
    const int8_t* x[Tokens];
    for (int t = 0; t < Tokens; ++t) x[t] = a.acts->row(token0 + t);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[kRowTile][Tokens];
    for (auto& row_acc : acc)
        for (__m256i& v : row_acc) v = _mm256_setzero_si256();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes) {
        for (size_t r = 0; r < kRowTile; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
            __m256i pairs[Tokens];
            for (__m256i& v : pairs) v = _mm256_setzero_si256();
            chunk_products<Layout, Tokens>(codes + r * kChunkBytes, x, pairs);
            for (int t = 0; t < Tokens; ++t) acc[r][t] = _mm256_add_epi32(acc[r][t], _mm256_madd_epi16(pairs[t], ones));
        }
        for (int t = 0; t < Tokens; ++t) x[t] += kPlanes<Layout> * 64;
    }
    for (size_t r = 0; r < kRowTile; ++r)
        for (int t = 0; t < Tokens; ++t)
            store_result(a, tile * kRowTile + r, token0 + t, horizontal_sum(acc[r][t]) - a.acts->sum[token0 + t]);
}

template <TernaryLayout Layout>
void gemv(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == Layout);
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        for (size_t t = 0; t < a.acts->n_tokens; ++t) gemv_tile<Layout>(a, tile, t);
    }
}

template <TernaryLayout Layout>
void gemm(const TernaryMatmulArgs& a) {
    TERN_CHECK(a.weights->layout == Layout);
    const size_t n_tokens = a.acts->n_tokens;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        size_t t = 0;
        for (; t + kGemmTokens <= n_tokens; t += kGemmTokens) gemm_tile<Layout, kGemmTokens>(a, tile, t);
        if (t < n_tokens) gemm_tile<Layout, 1>(a, tile, t);
    }
}

}  // namespace

void ternary_gemv(const TernaryMatmulArgs& a) { gemv<TernaryLayout::kCodes>(a); }
void ternary_gemm(const TernaryMatmulArgs& a) { gemm<TernaryLayout::kCodes>(a); }
void ternary_gemv_base3(const TernaryMatmulArgs& a) { gemv<TernaryLayout::kBase3>(a); }
void ternary_gemm_base3(const TernaryMatmulArgs& a) { gemm<TernaryLayout::kBase3>(a); }

}  // namespace tern::kernels::avx2

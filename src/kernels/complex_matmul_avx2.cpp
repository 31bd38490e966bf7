// Complex {±1, ±i} matmul with AVX2 (contract: complex_matmul.h).
//
// Layout (packed_complex.h): per row tile and 64-byte row chunk, byte b holds in bits 2p..2p+1
// the code (axis | sign << 1) of column 64p + b. AVX2 takes the chunk as two 32-byte halves h;
// plane p of half h, (bytes >> 2p) & 3, is the codes of the 32 contiguous columns 64p + 32h.
// Two vpshufb lookups turn a code into P + 1 (0 -> 2, 1 -> 1, 2 -> 0, 3 -> 1) and Q + 1
// (0 -> 1, 1 -> 2, 2 -> 1, 3 -> 0), unsigned {0, 1, 2}. vpmaddubsw multiplies them by the
// token's real and imaginary int8 rows: four products per plane, (P+1)·xr, (Q+1)·xi, (Q+1)·xr
// and (P+1)·xi, each a sum of pairs into int16. The results are sum (P+1)·x = Pr + sum x etc.;
// the token's sums of x (Int8Activations::sum of the re and im rows) are subtracted at the end.
//
// Overflow: a vpmaddubsw pair is in [2·(-128) · 2, 2·127 · 2] = [-512, 508], never saturated;
// one row chunk adds 8 of them (4 planes x 2 halves) to an int16 lane: [-4096, 4064]. The
// chunk's four int16 vectors are then folded by three vphaddw (pairwise sums, wrapping but
// bounded: [-8192, 8128], then [-16384, 16256]) and one vpmaddwd with ones into int32 lanes
// laid out [Pr, Qi, Qr, Pi] per 128-bit lane, each the sum of 8 int16 lanes: |.| <= 32768 per
// chunk, so an int32 lane holds 2^16 chunks (K = 2^24, kMaxPackedCols). The final sums are
// taken modulo 2^32 (vector adds wrap), where the true results, |.| <= 128 K, fit.
//
// Per 64 columns of one row and one token (2 plane-halves): 1.5 shifts, 2 ANDs, 4 vpshufb,
// 8 vpmaddubsw (activations as memory operands), 8 vpaddw, and per 256 columns 3 vphaddw +
// 1 vpmaddwd + 1 vpaddd (the fold: a tile's four rows need four int32 accumulators, not 16,
// which the 16 AVX2 registers could not hold beside the int16 sums; objdump of the GEMV loop).
// GEMV walks a tile's four rows chunk by chunk (one contiguous stream for the prefetcher);
// GEMM does the same for two tokens at a time, each row chunk decoded once for both.
#include <immintrin.h>

#include <cstdint>

#include "kernels/complex_matmul.h"

namespace tern::kernels::avx2 {
namespace {

using quant::kChunkBytes;
using quant::kRowTile;

// code -> P + 1 and code -> Q + 1, indexed by the code 0..3 in each 128-bit lane.
__m256i p_plus_one_table() { return _mm256_broadcastsi128_si256(_mm_setr_epi8(2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); }
__m256i q_plus_one_table() { return _mm256_broadcastsi128_si256(_mm_setr_epi8(1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); }

template <int Plane>
__m256i plane_codes(__m256i packed) {
    const __m256i low2 = _mm256_set1_epi8(3);
    if constexpr (Plane == 0) return _mm256_and_si256(packed, low2);
    else return _mm256_and_si256(_mm256_srli_epi16(packed, 2 * Plane), low2);
}

// Calls step.template operator()<p>() for p = 0 .. 3, in order.
template <class Step>
void for_each_plane(Step&& step) {
    step.template operator()<0>();
    step.template operator()<1>();
    step.template operator()<2>();
    step.template operator()<3>();
}

// Which int16 partial sum is which: the order the fold below expects.
enum Sum { kPr, kQi, kQr, kPi, kSums };

// acc += v in int16 lanes, as _mm256_add_epi16. With the intrinsic GCC 12 reassociates the 32
// adds of a row chunk into a tree after all the vpmaddubsw, and the products no longer fit in
// the 16 registers (about 60 stack accesses per chunk and row); the "+x" operand keeps each
// sum in one register and the adds in order.
void add_epi16(__m256i& acc, __m256i v) { asm("vpaddw %1, %0, %0" : "+x"(acc) : "x"(v)); }

// One row chunk against Tokens tokens: adds the int16 pair sums of (P+1)·xr, (Q+1)·xi,
// (Q+1)·xr and (P+1)·xi to sums[t][kPr..kPi]. xr[t] / xi[t] point at the chunk's first
// activation of token t. Forced inline so that the sums stay in registers (as a call, GCC 12
// passes them through memory; the ternary kernel measured half speed that way).
template <int Tokens>
[[gnu::always_inline]] inline void chunk_products(const uint8_t* row_codes, const int8_t* const xr[Tokens],
                                                  const int8_t* const xi[Tokens], __m256i sums[Tokens][kSums]) {
    const __m256i p_table = p_plus_one_table(), q_table = q_plus_one_table();
    for (int half = 0; half < 2; ++half) {
        const __m256i packed = _mm256_load_si256(reinterpret_cast<const __m256i*>(row_codes + 32 * half));
        for_each_plane([&]<int Plane>() {
            const __m256i codes = plane_codes<Plane>(packed);
            const __m256i p1 = _mm256_shuffle_epi8(p_table, codes), q1 = _mm256_shuffle_epi8(q_table, codes);
            for (int t = 0; t < Tokens; ++t) {
                const size_t column = 64 * Plane + 32 * half;
                const __m256i re = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xr[t] + column));
                const __m256i im = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xi[t] + column));
                add_epi16(sums[t][kPr], _mm256_maddubs_epi16(p1, re));
                add_epi16(sums[t][kQi], _mm256_maddubs_epi16(q1, im));
                add_epi16(sums[t][kQr], _mm256_maddubs_epi16(q1, re));
                add_epi16(sums[t][kPi], _mm256_maddubs_epi16(p1, im));
            }
        });
    }
}

// The four int16 sums of a row chunk as int32 lanes [Pr, Qi, Qr, Pi] per 128-bit lane
// (bounds in the file comment).
__m256i fold_sums(const __m256i s[kSums]) {
    const __m256i pr_qi = _mm256_hadd_epi16(s[kPr], s[kQi]);   // per 128-bit lane: Pr x4, Qi x4
    const __m256i qr_pi = _mm256_hadd_epi16(s[kQr], s[kPi]);   // Qr x4, Pi x4
    const __m256i all = _mm256_hadd_epi16(pr_qi, qr_pi);       // Pr x2, Qi x2, Qr x2, Pi x2
    return _mm256_madd_epi16(all, _mm256_set1_epi16(1));
}

// The contract's epilogue for one token and a tile's four rows (lane r = row r), the same
// float operations in the same order as ref::complex_gemm; rows past weights->rows are not
// written. `folded[r]` is row r's [Pr, Qi, Qr, Pi] x 2 accumulator, before the zero point.
void store_tile(const ComplexMatmulArgs& a, size_t tile, size_t token, const __m256i folded[kRowTile]) {
    __m128i v[kRowTile];
    for (size_t r = 0; r < kRowTile; ++r)
        v[r] = _mm_add_epi32(_mm256_castsi256_si128(folded[r]), _mm256_extracti128_si256(folded[r], 1));
    // 4x4 transpose: rows [Pr, Qi, Qr, Pi] into one vector per sum.
    const __m128i t0 = _mm_unpacklo_epi32(v[0], v[1]), t1 = _mm_unpacklo_epi32(v[2], v[3]);
    const __m128i t2 = _mm_unpackhi_epi32(v[0], v[1]), t3 = _mm_unpackhi_epi32(v[2], v[3]);
    const __m128i sum_re = _mm_set1_epi32(a.acts->sum[2 * token]), sum_im = _mm_set1_epi32(a.acts->sum[2 * token + 1]);
    const __m128i pr = _mm_sub_epi32(_mm_unpacklo_epi64(t0, t1), sum_re);
    const __m128i qi = _mm_sub_epi32(_mm_unpackhi_epi64(t0, t1), sum_im);
    const __m128i qr = _mm_sub_epi32(_mm_unpacklo_epi64(t2, t3), sum_re);
    const __m128i pi = _mm_sub_epi32(_mm_unpackhi_epi64(t2, t3), sum_im);

    const quant::PackedComplex& w = *a.weights;
    const __m128 scale_re = _mm_set1_ps(a.acts->scale[2 * token]), scale_im = _mm_set1_ps(a.acts->scale[2 * token + 1]);
    const __m128 w_re = _mm_set1_ps(w.scale_re), w_im = _mm_set1_ps(w.scale_im);
    const __m128 re = _mm_add_ps(_mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(pr), scale_re), w_re),
                                 _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(qi), scale_im), w_im));
    const __m128 im = _mm_sub_ps(_mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(qr), scale_re), w_im),
                                 _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(pi), scale_im), w_re));
    const size_t row0 = tile * kRowTile;
    float* out_re = a.out + token * a.out_stride + row0;
    float* out_im = out_re + a.im_offset;
    if (row0 + kRowTile <= w.rows) {
        _mm_storeu_ps(out_re, re);
        _mm_storeu_ps(out_im, im);
        return;
    }
    alignas(16) float re_lanes[kRowTile], im_lanes[kRowTile];
    _mm_store_ps(re_lanes, re);
    _mm_store_ps(im_lanes, im);
    for (size_t r = 0; row0 + r < w.rows; ++r) out_re[r] = re_lanes[r], out_im[r] = im_lanes[r];
}

// The hardware prefetcher stops at 4 KiB page ends (ternary_matmul_avx2.cpp measured it).
constexpr size_t kPrefetchAhead = 2048;

// A tile's four rows against Tokens tokens from token0, each row chunk decoded once for all.
template <int Tokens>
void tile_products(const ComplexMatmulArgs& a, size_t tile, size_t token0) {
    const quant::PackedComplex& w = *a.weights;
    const uint8_t* codes = w.tile(tile);
    const int8_t* xr[Tokens];
    const int8_t* xi[Tokens];
    for (int t = 0; t < Tokens; ++t) {
        xr[t] = a.acts->row(2 * (token0 + t));
        xi[t] = a.acts->row(2 * (token0 + t) + 1);
    }
    __m256i acc[Tokens][kRowTile];
    for (auto& token_acc : acc)
        for (__m256i& v : token_acc) v = _mm256_setzero_si256();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes) {
        for (size_t r = 0; r < kRowTile; ++r) {
            _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
            // The activations are the same for the four rows, and GCC hoists their 16 (or 32)
            // loads out of the row loop into registers it does not have, then copies them to
            // the stack. Hiding the pointers' value from it keeps the loads in the loop, where
            // they fold into vpmaddubsw as memory operands (L1 hits).
            const int8_t* row_xr[Tokens];
            const int8_t* row_xi[Tokens];
            for (int t = 0; t < Tokens; ++t) {
                row_xr[t] = xr[t], row_xi[t] = xi[t];
                asm("" : "+r"(row_xr[t]), "+r"(row_xi[t]));
            }
            __m256i sums[Tokens][kSums];
            for (auto& token_sums : sums)
                for (__m256i& v : token_sums) v = _mm256_setzero_si256();
            chunk_products<Tokens>(codes + r * kChunkBytes, row_xr, row_xi, sums);
            for (int t = 0; t < Tokens; ++t) acc[t][r] = _mm256_add_epi32(acc[t][r], fold_sums(sums[t]));
        }
        for (int t = 0; t < Tokens; ++t) xr[t] += quant::kChunkCols, xi[t] += quant::kChunkCols;
    }
    for (int t = 0; t < Tokens; ++t) store_tile(a, tile, token0 + t, acc[t]);
}

constexpr int kGemmTokens = 2;   // tokens per pass over a tile

}  // namespace

void complex_gemv(const ComplexMatmulArgs& a) {
    const size_t n_tokens = a.acts->n_tokens / 2;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile)
        for (size_t t = 0; t < n_tokens; ++t) tile_products<1>(a, tile, t);
}

void complex_gemm(const ComplexMatmulArgs& a) {
    const size_t n_tokens = a.acts->n_tokens / 2;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        size_t t = 0;
        for (; t + kGemmTokens <= n_tokens; t += kGemmTokens) tile_products<kGemmTokens>(a, tile, t);
        if (t < n_tokens) tile_products<1>(a, tile, t);
    }
}

}  // namespace tern::kernels::avx2

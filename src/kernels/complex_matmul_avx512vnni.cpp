// Complex {±1, ±i} matmul with AVX-512 VNNI dot products (contract: complex_matmul.h).
//
// Layout (packed_complex.h): per row tile and 256-column chunk, 4 rows x 64 bytes; byte b of a
// row holds in bits 2p..2p+1 the code (axis | sign << 1) of column 64p + b, so plane p lines up
// with 64 contiguous int8 activations. vpshufb looks codes up in 16-entry tables, so instead of
// one shift and one AND per plane the kernel splits a row chunk once into its low nibbles
// (planes 0 and 1) and high nibbles (planes 2 and 3) and uses four tables: P + 1 and Q + 1 of the
// nibble's low code (planes 0, 2) and of its high code (planes 1, 3). P + 1 is 0 -> 2, 1 -> 1,
// 2 -> 0, 3 -> 1; Q + 1 is 0 -> 1, 1 -> 2, 2 -> 1, 3 -> 0: unsigned {0, 1, 2}, which vpdpbusd
// multiplies by the signed activations, four bytes into each int32 lane. Four dot products per
// plane, (P+1)·xr, (Q+1)·xi, (Q+1)·xr, (P+1)·xi, give Pr + sum xr, Qi + sum xi, Qr + sum xr and
// Pi + sum xi; the token's sums of xr and xi are subtracted at the end (zero-point correction).
// Overflow: a lane gains at most 4 · 2 · 128 = 1024 per instruction and covers K / 16 columns,
// |lane| <= 2^28 for K = 2^24; the final sums are taken modulo 2^32 (vector adds wrap), where
// the true results, |.| <= 128 K, fit.
//
// Per 64 columns of one row and one token (objdump of the GEMV loop): 4 vpdpbusd, 2 vpshufb,
// 0.5 vpandd + 0.25 vpsrlw (the nibble split), 0.5 activation loads (once per plane for the
// tile's rows). GEMV: a tile's four rows x four sums = 16 independent int32 accumulators, enough
// to cover the vpdpbusd latency.
// GEMM (gemm_tile4): one row x four tokens x four sums, the 16 sums pinned to registers; each
// row chunk is loaded and split into nibbles once and each plane decoded once (2 vpshufb) for 16
// dot products. Per chunk (objdump): 64 vpdpbusd, 32 activation loads (L1: the four tokens'
// rows are reused by the tile's four row passes), 1 code load, 8 vpshufb, 2 vpandd, 1 vpsrlw,
// no stack traffic. Measured on Zen 5 (standalone, 128 tokens, K = 1536 and 4096): 20-40 %
// faster than the previous two rows x two tokens tile, which stored its 16 sums to the stack
// every chunk and decoded each plane for two tokens only. (Six tokens, 24 sums: the tables
// spill and it was not measurably faster.) The last 1-3 tokens use tile_products.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/complex_matmul.h"

namespace tern::kernels::avx512vnni {
namespace {

using quant::kChunkBytes;
using quant::kRowTile;

// vpshufb tables over a nibble n = lo | hi << 2 of two codes: the unit factor + 1 of lo or of hi.
// f holds the factor + 1 of codes 0..3.
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

// Calls step.template operator()<p>() for p = 0 .. 3, in order.
template <class Step>
void for_each_plane(Step&& step) {
    step.template operator()<0>();
    step.template operator()<1>();
    step.template operator()<2>();
    step.template operator()<3>();
}

// GCC 12's _mm512_reduce_add_epi32, 512->256 casts and unmasked extracts start from an
// "undefined" register that -Wuninitialized flags; the zero-masked forms avoid it.
__m256i lower_half(__m512i v) { return _mm512_maskz_extracti64x4_epi64(0xff, v, 0); }
__m256i upper_half(__m512i v) { return _mm512_maskz_extracti64x4_epi64(0xff, v, 1); }

// The four 16-lane sums of a, b, c, d in one vector (as ternary_matmul_avx512vnni.cpp).
__m128i reduce_add4(__m512i a, __m512i b, __m512i c, __m512i d) {
    const __m512i ab = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(0xffff, a, b), _mm512_maskz_unpackhi_epi32(0xffff, a, b));
    const __m512i cd = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(0xffff, c, d), _mm512_maskz_unpackhi_epi32(0xffff, c, d));
    const __m512i abcd = _mm512_add_epi32(_mm512_maskz_unpacklo_epi64(0xff, ab, cd), _mm512_maskz_unpackhi_epi64(0xff, ab, cd));
    const __m256i half = _mm256_add_epi32(lower_half(abcd), upper_half(abcd));
    return _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
}

// The contract's epilogue for one token and rows row0 .. row0 + 3 (lane r = row row0 + r), the
// same float operations in the same order as ref::complex_gemm; only lanes < n_rows that are
// real rows are written. The sums are before the zero-point correction.
void store_rows(const ComplexMatmulArgs& a, size_t row0, size_t n_rows, size_t token, __m128i pr, __m128i qi, __m128i qr,
                __m128i pi) {
    const quant::PackedComplex& w = *a.weights;
    const __m128i sum_re = _mm_set1_epi32(a.acts->sum[2 * token]), sum_im = _mm_set1_epi32(a.acts->sum[2 * token + 1]);
    const __m128 scale_re = _mm_set1_ps(a.acts->scale[2 * token]), scale_im = _mm_set1_ps(a.acts->scale[2 * token + 1]);
    const __m128 w_re = _mm_set1_ps(w.scale_re), w_im = _mm_set1_ps(w.scale_im);
    const auto scaled = [](__m128i sum, __m128i zero_point, __m128 act_scale, __m128 weight_scale) {
        return _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(_mm_sub_epi32(sum, zero_point)), act_scale), weight_scale);
    };
    const __m128 re = _mm_add_ps(scaled(pr, sum_re, scale_re, w_re), scaled(qi, sum_im, scale_im, w_im));
    const __m128 im = _mm_sub_ps(scaled(qr, sum_re, scale_re, w_im), scaled(pi, sum_im, scale_im, w_re));
    const size_t real = row0 >= w.rows ? 0 : std::min(n_rows, w.rows - row0);
    const __mmask8 lanes = static_cast<__mmask8>((1u << real) - 1);
    float* out_re = a.out + token * a.out_stride + row0;
    _mm_mask_storeu_ps(out_re, lanes, re);
    _mm_mask_storeu_ps(out_re + a.im_offset, lanes, im);
}

constexpr size_t kPrefetchAhead = 2048;   // past the 4 KiB page ends the hardware prefetcher stops at

enum Sum { kPr, kQi, kQr, kPi, kSums };

// acc += dot products of unsigned codes and signed activations, as _mm512_dpbusd_epi32. With
// the intrinsic, GCC 12 copies the 16 sums from register to register and to the stack every
// chunk (as in ternary_matmul_avx512vnni.cpp); the "+v" operand keeps each in one register.
void dot_accumulate(__m512i& acc, __m512i codes, __m512i x) { asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(codes), "v"(x)); }

// Rows row0 .. row0 + Rows - 1 of a tile against Tokens tokens from token0.
template <size_t Rows, int Tokens>
void tile_products(const ComplexMatmulArgs& a, const Tables& tables, size_t tile, size_t row0, size_t token0) {
    const quant::PackedComplex& w = *a.weights;
    const uint8_t* codes = w.tile(tile);
    const int8_t* xr[Tokens];
    const int8_t* xi[Tokens];
    for (int t = 0; t < Tokens; ++t) {
        xr[t] = a.acts->row(2 * (token0 + t));
        xi[t] = a.acts->row(2 * (token0 + t) + 1);
    }
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    __m512i acc[Rows][Tokens][kSums];
    for (auto& row_acc : acc)
        for (auto& token_acc : row_acc)
            for (__m512i& v : token_acc) v = _mm512_setzero_si512();
    for (size_t chunk = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes) {
        // The first pass over a tile fetches all its rows; a second (GEMM) finds them cached.
        if (row0 == 0)
            for (size_t r = 0; r < kRowTile; ++r)
                _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead + r * kChunkBytes), _MM_HINT_T0);
        const size_t column = chunk * quant::kChunkCols;
        for_each_plane([&]<int Plane>() {
            __m512i re[Tokens], im[Tokens];
            for (int t = 0; t < Tokens; ++t) {
                re[t] = _mm512_loadu_si512(xr[t] + column + 64 * Plane);
                im[t] = _mm512_loadu_si512(xi[t] + column + 64 * Plane);
            }
            for (size_t r = 0; r < Rows; ++r) {
                // The row's nibbles come from L1 per plane (GCC shares them between planes 0 and
                // 1, 2 and 3): holding every row's two nibble vectors, or the activations of all
                // four planes, across the chunk leaves too few of the 32 registers for the 16 sums,
                // and GCC then copies sums through the stack inside the loop.
                const __m512i packed = _mm512_load_si512(codes + (row0 + r) * kChunkBytes);
                const __m512i nibble = Plane < 2 ? _mm512_and_si512(packed, low4) : _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
                const __m512i p1 = _mm512_shuffle_epi8(Plane % 2 ? tables.p_high : tables.p_low, nibble);
                const __m512i q1 = _mm512_shuffle_epi8(Plane % 2 ? tables.q_high : tables.q_low, nibble);
                for (int t = 0; t < Tokens; ++t) {
                    __m512i* s = acc[r][t];
                    dot_accumulate(s[kPr], p1, re[t]);
                    dot_accumulate(s[kQi], q1, im[t]);
                    dot_accumulate(s[kQr], q1, re[t]);
                    dot_accumulate(s[kPi], p1, im[t]);
                }
            }
        });
    }
    const __m512i z = _mm512_setzero_si512();
    const auto row_acc = [&](size_t r, int t, Sum s) { return r < Rows ? acc[r][t][s] : z; };
    for (int t = 0; t < Tokens; ++t) {
        __m128i sums[kSums];
        for (int s = 0; s < kSums; ++s) {
            const auto sum = static_cast<Sum>(s);
            sums[s] = reduce_add4(row_acc(0, t, sum), row_acc(1, t, sum), row_acc(2, t, sum), row_acc(3, t, sum));
        }
        store_rows(a, tile * kRowTile + row0, Rows, token0 + t, sums[kPr], sums[kQi], sums[kQr], sums[kPi]);
    }
}

constexpr size_t kGemmTokens = 4;   // tokens per pass over a tile in GEMM

// The 16 sums of one row and four tokens, by name: held in an array, GCC 12 stores them to the
// stack every chunk (see the header comment).
struct RowSums {
    __m512i pr0, qi0, qr0, pi0, pr1, qi1, qr1, pi1, pr2, qi2, qr2, pi2, pr3, qi3, qr3, pi3;
};

// One token's four dot products with a plane's P + 1 and Q + 1 (activations from L1).
void token_plane(__m512i& pr, __m512i& qi, __m512i& qr, __m512i& pi, __m512i p1, __m512i q1, const int8_t* xr,
                 const int8_t* xi) {
    const __m512i re = _mm512_loadu_si512(xr), im = _mm512_loadu_si512(xi);
    dot_accumulate(pr, p1, re);
    dot_accumulate(qr, q1, re);
    dot_accumulate(qi, q1, im);
    dot_accumulate(pi, p1, im);
}

// Plane Plane of a row chunk (its low or high nibbles) against four tokens: 16 dot products.
// A template function rather than a lambda: through a lambda's captures GCC 12 keeps the sums'
// home on the stack and stores all 16 every chunk.
template <int Plane>
void row_plane(RowSums& s, const Tables& tables, __m512i nibble, const int8_t* const (&xr)[kGemmTokens],
               const int8_t* const (&xi)[kGemmTokens], size_t column) {
    const __m512i p1 = _mm512_shuffle_epi8(Plane % 2 ? tables.p_high : tables.p_low, nibble);
    const __m512i q1 = _mm512_shuffle_epi8(Plane % 2 ? tables.q_high : tables.q_low, nibble);
    const size_t c = column + 64 * Plane;
    token_plane(s.pr0, s.qi0, s.qr0, s.pi0, p1, q1, xr[0] + c, xi[0] + c);
    token_plane(s.pr1, s.qi1, s.qr1, s.pi1, p1, q1, xr[1] + c, xi[1] + c);
    token_plane(s.pr2, s.qi2, s.qr2, s.pi2, p1, q1, xr[2] + c, xi[2] + c);
    token_plane(s.pr3, s.qi3, s.qr3, s.pi3, p1, q1, xr[3] + c, xi[3] + c);
}

// One row of a tile (`codes`: its first chunk) against tokens token0 .. token0 + 3: each plane
// is decoded once and feeds 16 dot products; returns the row's sums, reduced, as
// sums[token][Sum] (before the zero-point correction).
void gemm_row4(const ComplexMatmulArgs& a, const Tables& tables, const uint8_t* codes, size_t token0, bool prefetch,
               int32_t (&sums)[kGemmTokens][kSums]) {
    const quant::PackedComplex& w = *a.weights;
    const int8_t* xr[kGemmTokens];
    const int8_t* xi[kGemmTokens];
    for (size_t t = 0; t < kGemmTokens; ++t) {
        xr[t] = a.acts->row(2 * (token0 + t));
        xi[t] = a.acts->row(2 * (token0 + t) + 1);
    }
    const __m512i low4 = _mm512_set1_epi8(0x0f), z = _mm512_setzero_si512();
    RowSums s{z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z};
    for (size_t chunk = 0, column = 0; chunk < w.n_chunks(); ++chunk, codes += kRowTile * kChunkBytes, column += quant::kChunkCols) {
        if (prefetch) _mm_prefetch(reinterpret_cast<const char*>(codes + kPrefetchAhead), _MM_HINT_T0);
        const __m512i packed = _mm512_load_si512(codes);
        const __m512i low = _mm512_and_si512(packed, low4), high = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
        row_plane<0>(s, tables, low, xr, xi, column);
        row_plane<1>(s, tables, low, xr, xi, column);
        row_plane<2>(s, tables, high, xr, xi, column);
        row_plane<3>(s, tables, high, xr, xi, column);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(sums[0]), reduce_add4(s.pr0, s.qi0, s.qr0, s.pi0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(sums[1]), reduce_add4(s.pr1, s.qi1, s.qr1, s.pi1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(sums[2]), reduce_add4(s.pr2, s.qi2, s.qr2, s.pi2));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(sums[3]), reduce_add4(s.pr3, s.qi3, s.qr3, s.pi3));
}

// A tile's four rows against four tokens, one row at a time (the four tokens' activations stay
// in L1 across the rows); the epilogue then takes the four rows of each sum as lanes.
void gemm_tile4(const ComplexMatmulArgs& a, const Tables& tables, size_t tile, size_t token0) {
    alignas(16) int32_t sums[kRowTile][kGemmTokens][kSums];
    const uint8_t* codes = a.weights->tile(tile);
    for (size_t r = 0; r < kRowTile; ++r) gemm_row4(a, tables, codes + r * kChunkBytes, token0, token0 == 0, sums[r]);
    for (size_t t = 0; t < kGemmTokens; ++t) {
        const auto lanes = [&](Sum s) { return _mm_setr_epi32(sums[0][t][s], sums[1][t][s], sums[2][t][s], sums[3][t][s]); };
        store_rows(a, tile * kRowTile, kRowTile, token0 + t, lanes(kPr), lanes(kQi), lanes(kQr), lanes(kPi));
    }
}

}  // namespace

void complex_gemv(const ComplexMatmulArgs& a) {
    const Tables tables = make_tables();
    const size_t n_tokens = a.acts->n_tokens / 2;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile)
        for (size_t t = 0; t < n_tokens; ++t) tile_products<kRowTile, 1>(a, tables, tile, 0, t);
}

void complex_gemm(const ComplexMatmulArgs& a) {
    const Tables tables = make_tables();
    const size_t n_tokens = a.acts->n_tokens / 2;
    for (size_t tile = a.tile_begin; tile < a.tile_end; ++tile) {
        size_t t = 0;
        for (; t + kGemmTokens <= n_tokens; t += kGemmTokens) gemm_tile4(a, tables, tile, t);
        for (; t + 2 <= n_tokens; t += 2) {
            tile_products<2, 2>(a, tables, tile, 0, t);
            tile_products<2, 2>(a, tables, tile, 2, t);
        }
        if (t < n_tokens) tile_products<kRowTile, 1>(a, tables, tile, 0, t);
    }
}

}  // namespace tern::kernels::avx512vnni

// The head kernels with AVX-512 VNNI (contract: head_matmul.h). One aligned line of the row-pair
// layout (quant/paired_head_rows.h) holds the same block of two rows and becomes one 512-bit
// vector of signed weights, row 2p's 32 in the low 256 bits and 2p + 1's in the high: a Q8_0
// line is that vector as stored (64 bytes); a Q4_0 line (32 bytes) widens to it with a qword
// permute that puts each row's 16 bytes twice, a shift by 4 in every second copy that brings
// the high nibbles down, a mask and a subtraction of 8. One vpdpbusd then yields the contract's
// eight lanes for both rows at once, and one 32-bit load gives both rows' scales.
//
// vpdpbusd multiplies unsigned by signed bytes. Rather than |w| times x with w's sign (two
// more instructions per token), the activations are offset once per call to x + 128 (u8) and
// the weights stay signed: sum (x + 128) * w = sum x * w + 128 * sum w. The correction
// 128 * sum w depends on the weights only, so it is computed once per block pair (one more
// vpdpbusd with 128 in every byte) and used, negated, as the start value of every token's
// accumulation. Each lane is then exactly the contract's int32 sum for any int8 values.
// Activation scales are widened to float once per call, not once per row.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/head_matmul.h"
#include "kernels/kernel_scratch.h"

namespace tern::kernels::avx512vnni {
namespace {

constexpr int kMaxTokens = 4;   // tokens sharing each loaded weight block pair

// Calls group(std::integral_constant<int, N>{}, t) over n_tokens tokens in groups of N =
// kMaxTokens, then once for the remaining 1-3: each group size is its own instantiation.
template <class Group>
void in_token_groups(size_t n_tokens, Group&& group) {
    static_assert(kMaxTokens == 4, "the tail below covers 1 to 3 tokens");
    size_t t = 0;
    for (; t + kMaxTokens <= n_tokens; t += kMaxTokens) group(std::integral_constant<int, kMaxTokens>{}, t);
    switch (n_tokens - t) {
        case 3: group(std::integral_constant<int, 3>{}, t); break;
        case 2: group(std::integral_constant<int, 2>{}, t); break;
        case 1: group(std::integral_constant<int, 1>{}, t); break;
        default: break;
    }
}

// How each format's lines read. A pair's line run is short (80 lines for 2B4T): the prefetch
// keeps loads in flight across pair boundaries, where the hardware prefetcher would otherwise
// stall at each new 4 KiB page.
template <class Rows>
struct Format;

template <>
struct Format<quant::PairedQ8Rows> {
    static constexpr size_t kPrefetchAhead = 4096;
    static __m512i load(const int8_t* line) { return _mm512_load_si512(line); }
};

template <>
struct Format<quant::PairedQ4Rows> {
    static constexpr size_t kPrefetchAhead = 2048;
    static __m512i load(const uint8_t* line) {
        // Zero-masked forms with every lane selected: GCC 12 warns on the unmasked ones' "undefined" source.
        const __m512i line_twice = _mm512_maskz_broadcast_i64x4(0xff, _mm256_load_si256(reinterpret_cast<const __m256i*>(line)));
        const __m512i copies = _mm512_maskz_permutexvar_epi64(0xff, _mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), line_twice);
        const __m512i nibbles = _mm512_mask_blend_epi64(0xcc, copies, _mm512_srli_epi16(copies, 4));
        return _mm512_sub_epi8(_mm512_and_si512(nibbles, _mm512_set1_epi8(0x0f)), _mm512_set1_epi8(8));
    }
};

float scale_of(const std::byte* block) {
    uint16_t bits;
    __builtin_memcpy(&bits, block, 2);
    return _cvtsh_ss(bits);
}

// Row 2p's fp16 scale of a block widened in the low eight float lanes, row 2p + 1's in the
// high eight, from the pair's two adjacent scales.
__m512 scale_halves(const uint16_t* pair_scales) {
    uint32_t both;
    __builtin_memcpy(&both, pair_scales, 4);
    const __m256i spread = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,   //
                                            2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    return _mm512_maskz_cvtph_ps(0xffff, _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(both)), spread));
}

__m256i load_quants(const std::byte* block) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2)); }

// Activations ready for the kernel: quants offset to unsigned, scales as floats.
// The memory is a KernelScratch of the caller's (kernel_scratch.h says why not a vector).
struct OffsetActivations {
    uint8_t* quants;   // [token][block][32]
    float* scales;     // [token][block]
};

template <class Rows>
size_t activation_blocks(const HeadMatmulArgs<Rows>& a) { return a.n_tokens * a.weights->blocks_per_row(); }

template <class Rows>
void offset_activations(const HeadMatmulArgs<Rows>& a, const OffsetActivations& acts) {
    const size_t blocks = activation_blocks(a);
    const __m256i offset = _mm256_set1_epi8(static_cast<char>(0x80));
    for (size_t b = 0; b < blocks; ++b) {
        const std::byte* block = a.x + b * kQ8BlockBytes;
        acts.scales[b] = scale_of(block);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(&acts.quants[b * kQ8BlockElems]),
                            _mm256_xor_si256(load_quants(block), offset));
    }
}

// Integer-domain moves keep this file within AVX-512 F/BW/VL (no DQ). The zero-masked forms
// with every lane selected avoid GCC 12's "undefined register" warnings.
__m256 lower_half(__m512 v) { return _mm256_castsi256_ps(_mm512_maskz_extracti64x4_epi64(0xff, _mm512_castps_si512(v), 0)); }
__m256 upper_half(__m512 v) { return _mm256_castsi256_ps(_mm512_maskz_extracti64x4_epi64(0xff, _mm512_castps_si512(v), 1)); }

// The contract's lane combination: l + (l + 4), then + 2, then + 1.
float combine(__m256 lanes) {
    const __m128 t = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1));
    const __m128 u = _mm_add_ps(t, _mm_movehl_ps(t, t));
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

// Rows 2p and 2p + 1; out1 is null when the second is padding.
template <class Rows, int Tokens>
void pair_tokens(const HeadMatmulArgs<Rows>& a, const OffsetActivations& acts, size_t pair, size_t t0, float* out0,
                 float* out1) {
    const Rows& w = *a.weights;
    const size_t blocks = w.blocks_per_row();
    const auto* quants = w.pair_quants(pair);
    const uint16_t* scales = w.pair_scales(pair);
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
    __m512 acc[Tokens];
    for (int t = 0; t < Tokens; ++t) acc[t] = _mm512_setzero_ps();
    for (size_t b = 0; b < blocks; ++b) {
        const auto* line = quants + b * Rows::kLineBytes;
        _mm_prefetch(reinterpret_cast<const char*>(line + Format<Rows>::kPrefetchAhead), _MM_HINT_T0);
        const __m512i wq = Format<Rows>::load(line);
        const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, wq));
        const __m512 dw = scale_halves(scales + 2 * b);
        for (int t = 0; t < Tokens; ++t) {
            const size_t xb = (t0 + t) * blocks + b;
            const __m512i x = _mm512_maskz_broadcast_i64x4(0xff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&acts.quants[xb * kQ8BlockElems])));
            const __m512 sums = _mm512_maskz_cvtepi32_ps(0xffff, _mm512_dpbusd_epi32(start, x, wq));
            const __m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(acts.scales[xb]));
            acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(s, sums));
        }
    }
    for (int t = 0; t < Tokens; ++t) {
        out0[(t0 + t) * a.out_stride] = combine(lower_half(acc[t]));
        if (out1 != nullptr) out1[(t0 + t) * a.out_stride] = combine(upper_half(acc[t]));
    }
}

template <class Rows>
void head_matmul(const HeadMatmulArgs<Rows>& a) {
    const KernelScratch quants(activation_blocks(a) * kQ8BlockElems), scales(activation_blocks(a) * sizeof(float));
    const OffsetActivations acts{static_cast<uint8_t*>(quants.data()), static_cast<float*>(scales.data())};
    offset_activations(a, acts);
    for (size_t r = a.row_begin; r < a.row_end; r += 2) {
        float* out0 = a.out + r;
        float* out1 = r + 1 < a.row_end ? out0 + 1 : nullptr;
        in_token_groups(a.n_tokens, [&](auto tokens, size_t t) {
            pair_tokens<Rows, decltype(tokens)::value>(a, acts, r / 2, t, out0, out1);
        });
    }
}

// Q6_K (head_matmul.h): one row at a time, as one stream of super-blocks; a 512-bit vector
// holds two quarters of a half super-block (64 codes: activation blocks b and b + 1). A 64-byte
// load of the low nibbles gives both quarters' nibbles (quarters 0 and 1 in the low nibbles,
// 2 and 3 in the high ones), and the 32 bytes of high bit pairs, broadcast to both halves, are
// shifted by a different count in each. The codes stay unsigned (0..63) for vpdpbusd against
// the signed activations, and the -32 comes back through the start value: minus 32 times each
// lane's four activations, computed once per call for every token and block (one vpdpbusd
// with 32 in every byte). Each lane is then the exact sum of (code - 32) * x; vpmulld by the
// lane's group scale gives the contract's integer. The float steps keep the contract's order:
// block b's eight products are added to the eight lanes, then block b + 1's.
struct Q6KActivations {
    const int8_t* quants;   // [token][block][32], as in the Q8_0 blocks
    const int32_t* starts;  // [token][block][8]: -32 * (sum of the lane's four quants)
    const float* scales;    // [token][block][8]: the block's d_x in each of its eight lanes
};

void prepare_q6_k_activations(const Q6KMatmulArgs& a, int8_t* quants, int32_t* starts, float* scales) {
    const size_t blocks = a.n_tokens * a.weights->cols / kQ8BlockElems;
    const __m256i thirty_two = _mm256_set1_epi8(32);
    for (size_t b = 0; b < blocks; ++b) {
        const std::byte* block = a.x + b * kQ8BlockBytes;
        _mm256_storeu_ps(&scales[b * 8], _mm256_set1_ps(scale_of(block)));
        const __m256i x = load_quants(block);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(&quants[b * kQ8BlockElems]), x);
        const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), thirty_two, x);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(&starts[b * 8]), _mm256_sub_epi32(_mm256_setzero_si256(), sums));
    }
}

// Codes of quarters (0, 1) (upper = false) or (2, 3) of a half super-block.
__m512i q6_k_quarter_pair(__m512i low_sources, __m512i high_bits, bool upper) {
    const __m512i nibble = _mm512_set1_epi8(0x0f), top = _mm512_set1_epi8(0x30);
    const __m512i low = _mm512_and_si512(upper ? _mm512_srli_epi16(low_sources, 4) : low_sources, nibble);
    // Bits 2k, 2k + 1 of the high byte to bits 4, 5: k = 0, 1 shift left by 4, 2; k = 2, 3 right by 0, 2.
    const __m512i high = upper ? _mm512_srlv_epi16(high_bits, _mm512_mask_blend_epi64(0xf0, _mm512_setzero_si512(), _mm512_set1_epi16(2)))
                               : _mm512_sllv_epi16(high_bits, _mm512_mask_blend_epi64(0xf0, _mm512_set1_epi16(4), _mm512_set1_epi16(2)));
    return _mm512_or_si512(low, _mm512_and_si512(high, top));
}

// Group scales 4m .. 4m + 3 of a super-block, each in four int32 lanes.
__m512i q6_k_scale_lanes(__m128i group_scales, int m) {
    alignas(16) static constexpr uint8_t kSpread[4][16] = {{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3},
                                                            {4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7},
                                                            {8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11},
                                                            {12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15}};
    const __m128i spread = _mm_load_si128(reinterpret_cast<const __m128i*>(kSpread[m]));
    return _mm512_maskz_cvtepi8_epi32(0xffff, _mm_shuffle_epi8(group_scales, spread));
}

template <int Tokens>
void q6_k_row_tokens(const Q6KMatmulArgs& a, const Q6KActivations& acts, size_t r, size_t t0) {
    const quant::Q6KRows& w = *a.weights;
    const size_t x_blocks = w.cols / kQ8BlockElems;
    const std::byte* row = w.row_blocks(r);
    __m256 acc[Tokens];
    for (int t = 0; t < Tokens; ++t) acc[t] = _mm256_setzero_ps();
    for (size_t sb = 0; sb < w.blocks_per_row(); ++sb) {
        const std::byte* block = row + sb * quant::Q6KRows::kBlockBytes;
        // A super-block (210 bytes) spans three or four cache lines. With one or two tokens the
        // row streams fast enough for the hardware prefetcher and one hint per super-block
        // helps; with more tokens a row is read slowly, the hardware stops prefetching, and
        // each line needs its own hint (4 tokens: 2x faster on a Zen 5 EPYC; with 1-2 tokens
        // the extra hints cost more than they bring).
        if constexpr (Tokens >= 3) {
            for (int line = 0; line < 4; ++line)
                _mm_prefetch(reinterpret_cast<const char*>(block + 2048 + 64 * line), _MM_HINT_T0);
        } else {
            _mm_prefetch(reinterpret_cast<const char*>(block + 2048), _MM_HINT_T0);
        }
        uint16_t d_bits;
        __builtin_memcpy(&d_bits, block + 208, 2);
        const __m512 dw = _mm512_set1_ps(_cvtsh_ss(d_bits));
        const __m128i group_scales = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 192));
#pragma GCC unroll 2
        for (int half = 0; half < 2; ++half) {
            const __m512i low_sources = _mm512_loadu_si512(block + 64 * half);
            const __m512i high_bits = _mm512_maskz_broadcast_i64x4(0xff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 128 + 32 * half)));
#pragma GCC unroll 2
            for (int upper = 0; upper < 2; ++upper) {
                const __m512i codes = q6_k_quarter_pair(low_sources, high_bits, upper != 0);
                const __m512i scales = q6_k_scale_lanes(group_scales, 2 * half + upper);
                const size_t b = 8 * sb + 4 * half + 2 * upper;   // blocks b and b + 1
                for (int t = 0; t < Tokens; ++t) {
                    const size_t xb = (t0 + t) * x_blocks + b;
                    const __m512i x = _mm512_loadu_si512(&acts.quants[xb * kQ8BlockElems]);
                    const __m512i start = _mm512_loadu_si512(&acts.starts[xb * 8]);
                    const __m512i sums = _mm512_mullo_epi32(_mm512_dpbusd_epi32(start, codes, x), scales);
                    const __m512 s = _mm512_mul_ps(dw, _mm512_loadu_ps(&acts.scales[xb * 8]));
                    const __m512 products = _mm512_mul_ps(s, _mm512_maskz_cvtepi32_ps(0xffff, sums));
                    acc[t] = _mm256_add_ps(acc[t], lower_half(products));
                    acc[t] = _mm256_add_ps(acc[t], upper_half(products));
                }
            }
        }
    }
    for (int t = 0; t < Tokens; ++t) a.out[(t0 + t) * a.out_stride + r] = combine(acc[t]);
}

void q6_k_rows_matmul(const Q6KMatmulArgs& a) {
    const size_t blocks = a.n_tokens * a.weights->cols / kQ8BlockElems;
    const KernelScratch quants(blocks * kQ8BlockElems), starts(blocks * 8 * sizeof(int32_t)), scales(blocks * 8 * sizeof(float));
    prepare_q6_k_activations(a, static_cast<int8_t*>(quants.data()), static_cast<int32_t*>(starts.data()),
                             static_cast<float*>(scales.data()));
    const Q6KActivations acts{static_cast<const int8_t*>(quants.data()), static_cast<const int32_t*>(starts.data()),
                              static_cast<const float*>(scales.data())};
    // Past four tokens, every group of four reads a row again. Taking the groups over a block of
    // rows rather than one row keeps the block (34 KB) in cache for the next group while each
    // group's activations (30 KB) are reused across the block: 8 and 16 tokens 1.9-2x faster.
    constexpr size_t kRowBlock = 16;
    for (size_t first = a.row_begin; first < a.row_end; first += kRowBlock) {
        const size_t last = std::min(a.row_end, first + kRowBlock);
        in_token_groups(a.n_tokens, [&](auto tokens, size_t t) {
            for (size_t r = first; r < last; ++r) q6_k_row_tokens<decltype(tokens)::value>(a, acts, r, t);
        });
    }
}

}  // namespace

void q8_matmul(const Q8MatmulArgs& a) { head_matmul(a); }
void q4_matmul(const Q4MatmulArgs& a) { head_matmul(a); }
void q6_k_matmul(const Q6KMatmulArgs& a) { q6_k_rows_matmul(a); }

}  // namespace tern::kernels::avx512vnni

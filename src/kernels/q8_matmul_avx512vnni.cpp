// Q8_0 head kernel with AVX-512 VNNI. One 512-bit vector holds the same block of two rows
// (row r in the low 256 bits, r + 1 in the high), so each vpdpbusd yields the contract's
// eight lanes for both rows at once.
//
// vpdpbusd multiplies unsigned by signed bytes. Rather than |w| times x with w's sign (two
// more instructions per token), the activations are offset once per call to x + 128 (u8) and
// the weights stay signed: sum (x + 128) * w = sum x * w + 128 * sum w. The correction
// 128 * sum w depends on the weights only, so it is computed once per block pair (one more
// vpdpbusd with 128 in every byte) and used, negated, as the start value of every token's
// accumulation. Each lane is then exactly the contract's int32 sum for any int8 values.
// Activation scales are widened to float once per call, not once per row.
#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "kernels/q8_matmul.h"

namespace tern::kernels::avx512vnni {
namespace {

constexpr int kMaxTokens = 4;   // tokens sharing each loaded weight block pair

uint16_t scale_bits(const std::byte* block) {
    uint16_t bits;
    __builtin_memcpy(&bits, block, 2);
    return bits;
}

float scale_of(const std::byte* block) { return _cvtsh_ss(scale_bits(block)); }

// Block w0's fp16 scale widened in the low eight float lanes, w1's in the high eight.
__m512 scale_halves(const std::byte* w0, const std::byte* w1) {
    const __m256i bits = _mm256_mask_set1_epi16(_mm256_set1_epi16(static_cast<short>(scale_bits(w0))), 0xff00,
                                                static_cast<short>(scale_bits(w1)));
    return _mm512_maskz_cvtph_ps(0xffff, bits);
}

__m256i load_quants(const std::byte* block) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2)); }

// Activations ready for the kernel: quants offset to unsigned, scales as floats.
struct OffsetActivations {
    std::vector<uint8_t> quants;   // [token][block][32]
    std::vector<float> scales;     // [token][block]
};

OffsetActivations offset_activations(const Q8MatmulArgs& a) {
    OffsetActivations acts;
    const size_t blocks = a.n_tokens * a.blocks_per_row;
    acts.quants.resize(blocks * kQ8BlockElems);
    acts.scales.resize(blocks);
    const __m256i offset = _mm256_set1_epi8(static_cast<char>(0x80));
    for (size_t b = 0; b < blocks; ++b) {
        const std::byte* block = a.x + b * kQ8BlockBytes;
        acts.scales[b] = scale_of(block);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(&acts.quants[b * kQ8BlockElems]),
                            _mm256_xor_si256(load_quants(block), offset));
    }
    return acts;
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

// Block w0's quants in the low 256 bits, w1's in the high: two masked loads, no shuffle
// (lanes outside a load's mask are never read, so the shifted address of the second is safe).
__m512i two_blocks(const std::byte* w0, const std::byte* w1) {
    const __m512i low = _mm512_maskz_loadu_epi64(0x0f, w0 + 2);
    return _mm512_mask_loadu_epi64(low, 0xf0, w1 + 2 - 32);
}

// Rows r and r + 1 (row1 may be row0 again for an odd last row; its results are dropped).
template <int Tokens>
void row_pair_tokens(const Q8MatmulArgs& a, const OffsetActivations& acts, const std::byte* row0, const std::byte* row1,
                     size_t t0, float* out0, float* out1) {
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
    __m512 acc[Tokens];
    for (int t = 0; t < Tokens; ++t) acc[t] = _mm512_setzero_ps();
    for (size_t b = 0; b < a.blocks_per_row; ++b) {
        const std::byte* w0 = row0 + b * kQ8BlockBytes;
        const std::byte* w1 = row1 + b * kQ8BlockBytes;
        // Each row is only ~40 cache lines, too short for the hardware prefetcher to ramp up:
        // fetch the next row pair's same block while this one is computed.
        _mm_prefetch(reinterpret_cast<const char*>(w0 + 2 * a.row_bytes), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(w1 + 2 * a.row_bytes), _MM_HINT_T0);
        const __m512i w = two_blocks(w0, w1);
        const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, w));
        const __m512 dw = scale_halves(w0, w1);
        for (int t = 0; t < Tokens; ++t) {
            const size_t xb = (t0 + t) * a.blocks_per_row + b;
            const __m512i x = _mm512_maskz_broadcast_i64x4(0xff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&acts.quants[xb * kQ8BlockElems])));
            const __m512 sums = _mm512_maskz_cvtepi32_ps(0xffff, _mm512_dpbusd_epi32(start, x, w));
            const __m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(acts.scales[xb]));
            acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(s, sums));
        }
    }
    for (int t = 0; t < Tokens; ++t) {
        out0[(t0 + t) * a.out_stride] = combine(lower_half(acc[t]));
        if (out1 != nullptr) out1[(t0 + t) * a.out_stride] = combine(upper_half(acc[t]));
    }
}

void row_pair(const Q8MatmulArgs& a, const OffsetActivations& acts, size_t r, bool pair) {
    const std::byte* row0 = a.weights + r * a.row_bytes;
    const std::byte* row1 = pair ? row0 + a.row_bytes : row0;
    float* out0 = a.out + r;
    float* out1 = pair ? out0 + 1 : nullptr;
    size_t t = 0;
    for (; t + kMaxTokens <= a.n_tokens; t += kMaxTokens) row_pair_tokens<kMaxTokens>(a, acts, row0, row1, t, out0, out1);
    switch (a.n_tokens - t) {
        case 3: row_pair_tokens<3>(a, acts, row0, row1, t, out0, out1); break;
        case 2: row_pair_tokens<2>(a, acts, row0, row1, t, out0, out1); break;
        case 1: row_pair_tokens<1>(a, acts, row0, row1, t, out0, out1); break;
        default: break;
    }
}

}  // namespace

void q8_matmul(const Q8MatmulArgs& a) {
    const OffsetActivations acts = offset_activations(a);
    size_t r = a.row_begin;
    for (; r + 2 <= a.row_end; r += 2) row_pair(a, acts, r, true);
    if (r < a.row_end) row_pair(a, acts, r, false);
}

}  // namespace tern::kernels::avx512vnni

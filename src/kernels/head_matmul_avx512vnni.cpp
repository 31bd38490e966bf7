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

#include <cstdint>

#include "kernels/head_matmul.h"
#include "kernels/kernel_scratch.h"

namespace tern::kernels::avx512vnni {
namespace {

constexpr int kMaxTokens = 4;   // tokens sharing each loaded weight block pair

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
        size_t t = 0;
        for (; t + kMaxTokens <= a.n_tokens; t += kMaxTokens) pair_tokens<Rows, kMaxTokens>(a, acts, r / 2, t, out0, out1);
        switch (a.n_tokens - t) {
            case 3: pair_tokens<Rows, 3>(a, acts, r / 2, t, out0, out1); break;
            case 2: pair_tokens<Rows, 2>(a, acts, r / 2, t, out0, out1); break;
            case 1: pair_tokens<Rows, 1>(a, acts, r / 2, t, out0, out1); break;
            default: break;
        }
    }
}

}  // namespace

void q8_matmul(const Q8MatmulArgs& a) { head_matmul(a); }
void q4_matmul(const Q4MatmulArgs& a) { head_matmul(a); }

}  // namespace tern::kernels::avx512vnni

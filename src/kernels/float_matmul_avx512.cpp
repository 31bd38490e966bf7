// Float matmul with AVX-512: 16 weights per step converted to f32 (vcvtph2ps for F16, a
// 16-bit shift for BF16), one vfmadd231ps per step into a single 16-lane accumulator per
// token, tails through zero-masked loads, then the reference's pairwise combine.
// Memory-bound for one token (2 bytes per weight for F16); several tokens reuse each loaded
// row from L1.
#include <immintrin.h>

#include <cstdint>

#include "kernels/float_matmul.h"

namespace tern::kernels::avx512 {
namespace {

__m512 load_weights(const std::byte* p, format::GgmlType type, __mmask16 mask) {
    switch (type) {
        case format::GgmlType::kF16:
            return _mm512_maskz_cvtph_ps(0xffff, _mm256_maskz_loadu_epi16(mask, p));
        case format::GgmlType::kBF16:
            return _mm512_castsi512_ps(
                _mm512_maskz_slli_epi32(0xffff, _mm512_maskz_cvtepu16_epi32(0xffff, _mm256_maskz_loadu_epi16(mask, p)), 16));
        default:
            return _mm512_maskz_loadu_ps(mask, p);
    }
}

// The reference's tree: l + (l + 8), + 4, + 2, + 1. Zero-masked extracts avoid GCC 12's
// -Wuninitialized false positive on the unmasked forms.
float combine_lanes(__m512 v) {
    const __m512d d = _mm512_castps_pd(v);
    const __m256 lo = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xff, d, 0));
    const __m256 hi = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xff, d, 1));
    const __m256 s8 = _mm256_add_ps(lo, hi);
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

template <int Tokens, format::GgmlType Type>
void accumulate(const std::byte* row, const FloatMatmulArgs& a, size_t t0, size_t k, __mmask16 mask, __m512* acc) {
    constexpr size_t kElem = Type == format::GgmlType::kF32 ? 4 : 2;
    const __m512 w = load_weights(row + k * kElem, Type, mask);
    for (int t = 0; t < Tokens; ++t) {
        const __m512 x = _mm512_maskz_loadu_ps(mask, a.x + (t0 + t) * a.x_stride + k);
        acc[t] = _mm512_fmadd_ps(w, x, acc[t]);
    }
}

// The full 16-column steps use constant all-ones masks and the type as a template argument:
// a mask computed per step costs about a fifth of the one-token speed (the loop is streaming
// 2 bytes per weight at the memory's pace, so its few instructions per step matter).
template <int Tokens, format::GgmlType Type>
void rows_times_tokens(const FloatMatmulArgs& a, size_t t0) {
    const size_t full = a.cols / 16 * 16;
    const __mmask16 tail_mask = static_cast<__mmask16>((1u << (a.cols - full)) - 1);
    for (size_t r = a.row_begin; r < a.row_end; ++r) {
        const std::byte* row = a.weights + r * a.row_bytes;
        __m512 acc[Tokens];
        for (int t = 0; t < Tokens; ++t) acc[t] = _mm512_setzero_ps();
        for (size_t k = 0; k < full; k += 16) accumulate<Tokens, Type>(row, a, t0, k, 0xffff, acc);
        if (full < a.cols) accumulate<Tokens, Type>(row, a, t0, full, tail_mask, acc);
        for (int t = 0; t < Tokens; ++t) a.out[(t0 + t) * a.out_stride + r] = combine_lanes(acc[t]);
    }
}

template <format::GgmlType Type>
void float_matmul_of_type(const FloatMatmulArgs& a) {
    size_t t = 0;
    for (; t + 4 <= a.n_tokens; t += 4) rows_times_tokens<4, Type>(a, t);
    for (; t < a.n_tokens; ++t) rows_times_tokens<1, Type>(a, t);
}

}  // namespace

void float_matmul(const FloatMatmulArgs& a) {
    switch (a.type) {
        case format::GgmlType::kF16: return float_matmul_of_type<format::GgmlType::kF16>(a);
        case format::GgmlType::kBF16: return float_matmul_of_type<format::GgmlType::kBF16>(a);
        default: return float_matmul_of_type<format::GgmlType::kF32>(a);
    }
}

}  // namespace tern::kernels::avx512

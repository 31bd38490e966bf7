// Float matmul with AVX2 + FMA + F16C: the reference's 16 lanes as two 8-lane accumulators
// (columns k % 16 < 8 and >= 8), so the pairwise combine starts with one add of the two.
// Tails go through a zero-filled 16-element staging buffer (AVX2 has no 16-bit masked load).
// Memory-bound for one token (2 bytes per weight for F16); up to four tokens share each
// loaded row step. The type is a template argument (a switch per step is work in a loop that
// streams at the memory's pace), and the rows are prefetched ahead: the hardware prefetcher
// stops at 4 KiB page ends.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/float_matmul.h"

namespace tern::kernels::avx2 {
namespace {

using format::GgmlType;

template <GgmlType Type>
constexpr size_t kElemBytes = Type == GgmlType::kF32 ? 4 : 2;

constexpr size_t kPrefetchAhead = 2048;

template <GgmlType Type>
__m256 load8(const std::byte* p) {
    if constexpr (Type == GgmlType::kF16) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    } else if constexpr (Type == GgmlType::kBF16) {
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
    } else {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
    }
}

float combine_lanes(__m256 lo, __m256 hi) {
    const __m256 s8 = _mm256_add_ps(lo, hi);
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

// One 16-column step of a row against Tokens tokens; x[t] points at the step's columns.
template <int Tokens, GgmlType Type>
void accumulate(const std::byte* w, const float* const x[Tokens], __m256 lo[Tokens], __m256 hi[Tokens]) {
    const __m256 w_lo = load8<Type>(w), w_hi = load8<Type>(w + 8 * kElemBytes<Type>);
    for (int t = 0; t < Tokens; ++t) {
        lo[t] = _mm256_fmadd_ps(w_lo, _mm256_loadu_ps(x[t]), lo[t]);
        hi[t] = _mm256_fmadd_ps(w_hi, _mm256_loadu_ps(x[t] + 8), hi[t]);
    }
}

template <int Tokens, GgmlType Type>
void rows_times_tokens(const FloatMatmulArgs& a, size_t t0) {
    constexpr size_t kElem = kElemBytes<Type>;
    const size_t full = a.cols / 16 * 16, tail = a.cols - full;
    for (size_t r = a.row_begin; r < a.row_end; ++r) {
        const std::byte* row = a.weights + r * a.row_bytes;
        __m256 lo[Tokens], hi[Tokens];
        for (int t = 0; t < Tokens; ++t) lo[t] = hi[t] = _mm256_setzero_ps();
        const float* x[Tokens];
        for (size_t k = 0; k < full; k += 16) {
            _mm_prefetch(reinterpret_cast<const char*>(row + k * kElem + kPrefetchAhead), _MM_HINT_T0);
            for (int t = 0; t < Tokens; ++t) x[t] = a.x + (t0 + t) * a.x_stride + k;
            accumulate<Tokens, Type>(row + k * kElem, x, lo, hi);
        }
        if (tail > 0) {
            alignas(32) std::byte w_tail[16 * kElem] = {};
            std::memcpy(w_tail, row + full * kElem, tail * kElem);
            alignas(32) float x_tail[Tokens][16] = {};
            for (int t = 0; t < Tokens; ++t) {
                std::memcpy(x_tail[t], a.x + (t0 + t) * a.x_stride + full, tail * sizeof(float));
                x[t] = x_tail[t];
            }
            accumulate<Tokens, Type>(w_tail, x, lo, hi);
        }
        for (int t = 0; t < Tokens; ++t) a.out[(t0 + t) * a.out_stride + r] = combine_lanes(lo[t], hi[t]);
    }
}

template <GgmlType Type>
void float_matmul_of_type(const FloatMatmulArgs& a) {
    size_t t = 0;
    for (; t + 4 <= a.n_tokens; t += 4) rows_times_tokens<4, Type>(a, t);
    for (; t < a.n_tokens; ++t) rows_times_tokens<1, Type>(a, t);
}

}  // namespace

void float_matmul(const FloatMatmulArgs& a) {
    switch (a.type) {
        case GgmlType::kF16: return float_matmul_of_type<GgmlType::kF16>(a);
        case GgmlType::kBF16: return float_matmul_of_type<GgmlType::kBF16>(a);
        default: return float_matmul_of_type<GgmlType::kF32>(a);
    }
}

}  // namespace tern::kernels::avx2

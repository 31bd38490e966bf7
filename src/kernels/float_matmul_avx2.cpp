// Float matmul with AVX2 + FMA + F16C: the reference's 16 lanes as two 8-lane accumulators
// (columns k % 16 < 8 and >= 8), so the pairwise combine starts with one add of the two.
// Tails go through a zero-filled 16-element staging buffer (AVX2 has no 16-bit masked load).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/float_matmul.h"

namespace tern::kernels::avx2 {
namespace {

__m256 load8(const std::byte* p, format::GgmlType type) {
    switch (type) {
        case format::GgmlType::kF16:
            return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        case format::GgmlType::kBF16:
            return _mm256_castsi256_ps(
                _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
        default:
            return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
    }
}

float combine_lanes(__m256 lo, __m256 hi) {
    const __m256 s8 = _mm256_add_ps(lo, hi);
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

}  // namespace

void float_matmul(const FloatMatmulArgs& a) {
    const size_t elem = a.type == format::GgmlType::kF32 ? 4 : 2;
    const size_t full = a.cols / 16 * 16, tail = a.cols - full;
    for (size_t r = a.row_begin; r < a.row_end; ++r) {
        const std::byte* row = a.weights + r * a.row_bytes;
        alignas(32) std::byte w_tail[64] = {};
        std::memcpy(w_tail, row + full * elem, tail * elem);
        for (size_t t = 0; t < a.n_tokens; ++t) {
            const float* x = a.x + t * a.x_stride;
            __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
            for (size_t k = 0; k < full; k += 16) {
                lo = _mm256_fmadd_ps(load8(row + k * elem, a.type), _mm256_loadu_ps(x + k), lo);
                hi = _mm256_fmadd_ps(load8(row + (k + 8) * elem, a.type), _mm256_loadu_ps(x + k + 8), hi);
            }
            if (tail > 0) {
                alignas(32) float x_tail[16] = {};
                std::memcpy(x_tail, x + full, tail * sizeof(float));
                lo = _mm256_fmadd_ps(load8(w_tail, a.type), _mm256_load_ps(x_tail), lo);
                hi = _mm256_fmadd_ps(load8(w_tail + 8 * elem, a.type), _mm256_load_ps(x_tail + 8), hi);
            }
            a.out[t * a.out_stride + r] = combine_lanes(lo, hi);
        }
    }
}

}  // namespace tern::kernels::avx2

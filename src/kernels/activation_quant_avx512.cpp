// Activation quantisation (activation_quant.h) with 16-lane AVX-512 vectors; the last
// partial vector of a row is masked, so there is no scalar tail.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/activation_quant.h"

namespace tern::kernels::avx512 {
namespace {

constexpr size_t kLanes = 16;

__mmask16 first_lanes(size_t n) { return static_cast<__mmask16>((1u << std::min(n, kLanes)) - 1u); }

// |x| as max(|x|, m): vmaxps returns its second operand when either is NaN, so a NaN is
// skipped, as std::max(lane, |x|) skips it in the reference. (Zero-masked forms here and
// below: GCC 12 warns that the unmasked ones read an undefined register.)
__m512 max_abs(__m512 m, __m512 x) { return _mm512_maskz_max_ps(0xffff, _mm512_abs_ps(x), m); }

float row_abs_max(const float* x, size_t n) {
    __m512 m = _mm512_setzero_ps();
    size_t k = 0;
    for (; k + kLanes <= n; k += kLanes) m = max_abs(m, _mm512_loadu_ps(x + k));
    if (k < n) m = max_abs(m, _mm512_maskz_loadu_ps(first_lanes(n - k), x + k));
    alignas(64) float lanes[kLanes];
    _mm512_store_ps(lanes, m);
    return *std::max_element(lanes, lanes + kLanes);
}

// round_half_even(x * a_s) clamped to int8, as int32 lanes.
__m512i quantize_lanes(__m512 x, __m512 a_s) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    const __m512 rounded = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, a_s), magic), magic);
    const __m512i q = _mm512_maskz_cvttps_epi32(0xffff, rounded);
    return _mm512_maskz_max_epi32(0xffff, _mm512_maskz_min_epi32(0xffff, q, _mm512_set1_epi32(127)), _mm512_set1_epi32(-128));
}

int32_t reduce_add(__m512i v) {
    const __m256i s8 = _mm256_add_epi32(_mm512_maskz_extracti64x4_epi64(0xff, v, 0), _mm512_maskz_extracti64x4_epi64(0xff, v, 1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

}  // namespace

void quantize_activation_rows(const float* x, size_t x_stride, quant::Int8Activations& acts, size_t token_begin,
                              size_t token_end) {
    const size_t cols = acts.cols;
    for (size_t t = token_begin; t < token_end; ++t) {
        const float* in = x + t * x_stride;
        int8_t* out = acts.values.data() + t * acts.cols_padded;
        const float a_s = 127.0f / std::max(row_abs_max(in, cols), 1e-5f);
        const __m512 a_s_v = _mm512_set1_ps(a_s);
        __m512i sum = _mm512_setzero_si512();
        size_t k = 0;
        for (; k + kLanes <= cols; k += kLanes) {
            const __m512i q = quantize_lanes(_mm512_loadu_ps(in + k), a_s_v);
            _mm512_mask_cvtsepi32_storeu_epi8(out + k, 0xffff, q);
            sum = _mm512_add_epi32(sum, q);
        }
        if (k < cols) {
            const __mmask16 tail = first_lanes(cols - k);
            const __m512i q = quantize_lanes(_mm512_maskz_loadu_ps(tail, in + k), a_s_v);   // zero lanes give 0
            _mm512_mask_cvtsepi32_storeu_epi8(out + k, tail, q);
            sum = _mm512_add_epi32(sum, q);
        }
        std::memset(out + cols, 0, acts.cols_padded - cols);
        acts.scale[t] = 1.0f / a_s;
        acts.sum[t] = reduce_add(sum);
    }
}

}  // namespace tern::kernels::avx512

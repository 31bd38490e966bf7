// Activation quantisation (activation_quant.h) with 8-lane AVX2 vectors; the last partial
// vector of a row is loaded with a mask and stored byte-exactly, so there is no scalar tail.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/activation_quant.h"

namespace tern::kernels::avx2 {
namespace {

constexpr size_t kLanes = 8;

// All ones in lanes [0, n), as vmaskmovps wants.
__m256i first_lanes(size_t n) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min(n, kLanes))), index);
}

// vmaxps returns its second operand when either is NaN, so a NaN is skipped, as
// std::max(lane, |x|) skips it in the reference.
__m256 max_abs(__m256 m, __m256 x) {
    const __m256 abs = _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
    return _mm256_max_ps(abs, m);
}

float row_abs_max(const float* x, size_t n) {
    __m256 m = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + kLanes <= n; k += kLanes) m = max_abs(m, _mm256_loadu_ps(x + k));
    if (k < n) m = max_abs(m, _mm256_maskload_ps(x + k, first_lanes(n - k)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    return _mm_cvtss_f32(m4);
}

// round_half_even(x * a_s) clamped to int8, as int32 lanes.
__m256i quantize_lanes(__m256 x, __m256 a_s) {
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256 rounded = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(x, a_s), magic), magic);
    const __m256i q = _mm256_cvttps_epi32(rounded);
    return _mm256_max_epi32(_mm256_min_epi32(q, _mm256_set1_epi32(127)), _mm256_set1_epi32(-128));
}

// The first n (<= 8) lanes of q, already in int8 range, as bytes.
void store_bytes(int8_t* out, __m256i q, size_t n) {
    const __m256i words = _mm256_packs_epi32(q, q);      // lanes 0-3 | 4-7, each 128-bit half
    const __m256i bytes = _mm256_packs_epi16(words, words);
    const uint64_t low = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_castsi256_si128(bytes)));
    const uint64_t high = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_extracti128_si256(bytes, 1)));
    const uint64_t packed = low | high << 32;   // little-endian: lane 0 is the first byte
    std::memcpy(out, &packed, n);
}

int32_t reduce_add(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
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
        const __m256 a_s_v = _mm256_set1_ps(a_s);
        __m256i sum = _mm256_setzero_si256();
        size_t k = 0;
        for (; k + kLanes <= cols; k += kLanes) {
            const __m256i q = quantize_lanes(_mm256_loadu_ps(in + k), a_s_v);
            store_bytes(out + k, q, kLanes);
            sum = _mm256_add_epi32(sum, q);
        }
        if (k < cols) {
            const __m256i q = quantize_lanes(_mm256_maskload_ps(in + k, first_lanes(cols - k)), a_s_v);   // zero lanes give 0
            store_bytes(out + k, q, cols - k);
            sum = _mm256_add_epi32(sum, q);
        }
        std::memset(out + cols, 0, acts.cols_padded - cols);
        acts.scale[t] = 1.0f / a_s;
        acts.sum[t] = reduce_add(sum);
    }
}

}  // namespace tern::kernels::avx2

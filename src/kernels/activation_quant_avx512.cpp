// Activation quantisation (activation_quant.h) with 16-lane AVX-512 vectors.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/activation_quant.h"

namespace tern::kernels::avx512 {
namespace {

using Floats = __m512;
using Ints = __m512i;
constexpr size_t kLanes = 16;

__mmask16 first_lanes(size_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

Floats load_floats(const float* p, size_t n) {
    return n == kLanes ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(first_lanes(n), p);
}

// vmaxps returns its second operand when either is NaN. (Zero-masked forms here and below:
// GCC 12 warns that the unmasked ones read an undefined register.)
Floats max_abs(Floats m, Floats x) { return _mm512_maskz_max_ps(0xffff, _mm512_abs_ps(x), m); }

float max_lanes(Floats m) {
    alignas(64) float lanes[kLanes];
    _mm512_store_ps(lanes, m);
    return *std::max_element(lanes, lanes + kLanes);
}

Ints quantize_lanes(Floats x, float a_s) {
    const Floats magic = _mm512_set1_ps(12582912.0f);
    const Floats rounded = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(a_s)), magic), magic);
    const Ints q = _mm512_maskz_cvttps_epi32(0xffff, rounded);
    return _mm512_maskz_max_epi32(0xffff, _mm512_maskz_min_epi32(0xffff, q, _mm512_set1_epi32(127)), _mm512_set1_epi32(-128));
}

void store_codes(int8_t* out, Ints q, size_t n) { _mm512_mask_cvtsepi32_storeu_epi8(out, first_lanes(n), q); }

Ints zero_ints() { return _mm512_setzero_si512(); }
Ints add_ints(Ints a, Ints b) { return _mm512_add_epi32(a, b); }

int32_t reduce_add(Ints v) {
    const __m256i s8 = _mm256_add_epi32(_mm512_maskz_extracti64x4_epi64(0xff, v, 0), _mm512_maskz_extracti64x4_epi64(0xff, v, 1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

}  // namespace

#include "kernels/activation_quant_body.inc"

}  // namespace tern::kernels::avx512

// Activation quantisation (activation_quant.h) with 8-lane AVX2 vectors.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/activation_quant.h"

namespace tern::kernels::avx2 {
namespace {

using Floats = __m256;
using Ints = __m256i;
constexpr size_t kLanes = 8;

Floats load_floats(const float* p, size_t n) {
    if (n == kLanes) return _mm256_loadu_ps(p);
    // All ones in lanes [0, n), as vmaskmovps wants; lanes past n are not read.
    const Ints mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_maskload_ps(p, mask);
}

// vmaxps returns its second operand when either is NaN.
Floats max_abs(Floats m, Floats x) {
    return _mm256_max_ps(_mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))), m);
}

float max_lanes(Floats m) {
    alignas(32) float lanes[kLanes];
    _mm256_store_ps(lanes, m);
    return *std::max_element(lanes, lanes + kLanes);
}

Ints quantize_lanes(Floats x, float a_s) {
    const Floats magic = _mm256_set1_ps(12582912.0f);
    const Floats rounded = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(a_s)), magic), magic);
    const Ints q = _mm256_cvttps_epi32(rounded);
    return _mm256_max_epi32(_mm256_min_epi32(q, _mm256_set1_epi32(127)), _mm256_set1_epi32(-128));
}

void store_codes(int8_t* out, Ints q, size_t n) {
    const Ints words = _mm256_packs_epi32(q, q);   // lanes 0-3 | 4-7, one per 128-bit half
    const Ints bytes = _mm256_packs_epi16(words, words);
    const uint64_t low = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_castsi256_si128(bytes)));
    const uint64_t high = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_extracti128_si256(bytes, 1)));
    const uint64_t packed = low | high << 32;   // little-endian: lane 0 is the first byte
    std::memcpy(out, &packed, n);
}

Ints zero_ints() { return _mm256_setzero_si256(); }
Ints add_ints(Ints a, Ints b) { return _mm256_add_epi32(a, b); }

int32_t reduce_add(Ints v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

}  // namespace

#include "kernels/activation_quant_body.inc"

}  // namespace tern::kernels::avx2

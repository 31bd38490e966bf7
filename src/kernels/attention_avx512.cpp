// Attention (attention.h) with 16-lane AVX-512 vectors.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "core/float16.h"
#include "kernels/attention.h"

namespace tern::kernels::avx512 {
namespace {

using Vec = __m512;
constexpr size_t kLanes = 16;
constexpr size_t kValueVecs = 4;   // 4 queries x 4 accumulators + 4 values + 1 weight of 32 registers
Vec load(const float* p) { return _mm512_loadu_ps(p); }
void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
Vec max(Vec a, Vec b) { return _mm512_maskz_max_ps(0xffff, a, b); }   // GCC 12 warns on the unmasked form
Vec set1(float x) { return _mm512_set1_ps(x); }
__mmask16 first_lanes(size_t valid, size_t first) {
    const size_t n = valid > first ? std::min(valid - first, kLanes) : 0;
    return static_cast<__mmask16>((1u << n) - 1u);
}
Vec load_part(const float* p, size_t valid, size_t first) { return _mm512_maskz_loadu_ps(first_lanes(valid, first), p); }
void store_part(float* p, Vec v, size_t valid, size_t first) { _mm512_mask_storeu_ps(p, first_lanes(valid, first), v); }
// The zero-masked conversions: GCC 12 warns on the unmasked ones, as on max.
Vec load(const uint16_t* p) { return _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
Vec load_part(const uint16_t* p, size_t valid, size_t first) {
    return _mm512_maskz_cvtph_ps(0xffff, _mm256_maskz_loadu_epi16(first_lanes(valid, first), p));
}
float widen(float x) { return x; }
float widen(uint16_t x) { return fp16_to_fp32(x); }
float max_lanes(Vec v) {
    alignas(64) float lanes[kLanes];
    _mm512_store_ps(lanes, v);
    return *std::max_element(lanes, lanes + kLanes);
}

}  // namespace

#include "kernels/attention_body.inc"

}  // namespace tern::kernels::avx512

// Attention (attention.h) with 8-lane AVX vectors.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "core/float16.h"
#include "kernels/attention.h"

namespace tern::kernels::avx2 {
namespace {

using Vec = __m256;
constexpr size_t kLanes = 8;
constexpr size_t kValueVecs = 2;   // 4 queries x 2 accumulators + 2 values + 1 weight of 16 registers
Vec load(const float* p) { return _mm256_loadu_ps(p); }
void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
Vec set1(float x) { return _mm256_set1_ps(x); }
// All-ones in the first n of 8 int lanes: the mask of vmaskmovps, which neither reads nor
// writes the other lanes.
__m256i first_lanes(size_t valid, size_t first) {
    const int n = static_cast<int>(valid > first ? std::min(valid - first, kLanes) : 0);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
Vec load_part(const float* p, size_t valid, size_t first) { return _mm256_maskload_ps(p, first_lanes(valid, first)); }
void store_part(float* p, Vec v, size_t valid, size_t first) { _mm256_maskstore_ps(p, first_lanes(valid, first), v); }
Vec load(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
// AVX2 has no 16-bit masked load: the valid lanes go through a zeroed buffer.
Vec load_part(const uint16_t* p, size_t valid, size_t first) {
    alignas(16) uint16_t lanes[kLanes] = {};
    const size_t n = valid > first ? std::min(valid - first, kLanes) : 0;
    std::copy(p, p + n, lanes);
    return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(lanes)));
}
float widen(float x) { return x; }
float widen(uint16_t x) { return fp16_to_fp32(x); }
float max_lanes(Vec v) {
    alignas(32) float lanes[kLanes];
    _mm256_store_ps(lanes, v);
    return *std::max_element(lanes, lanes + kLanes);
}

}  // namespace

#include "kernels/attention_body.inc"

}  // namespace tern::kernels::avx2

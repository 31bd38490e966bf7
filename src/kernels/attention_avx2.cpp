// Attention (attention.h) with 8-lane AVX vectors.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"

namespace tern::kernels::avx2 {
namespace {

using Vec = __m256;
constexpr size_t kLanes = 8;
Vec load(const float* p) { return _mm256_loadu_ps(p); }
void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
Vec set1(float x) { return _mm256_set1_ps(x); }
float max_lanes(Vec v) {
    alignas(32) float lanes[kLanes];
    _mm256_store_ps(lanes, v);
    return *std::max_element(lanes, lanes + kLanes);
}

}  // namespace

#include "kernels/attention_body.inc"

}  // namespace tern::kernels::avx2

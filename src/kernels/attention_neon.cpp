// Attention (attention.h) with 4-lane Advanced SIMD vectors (every AArch64 CPU; the neon and
// neondot tables share it). F16 keys and values widen with FCVTL, which is exact.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/float16.h"
#include "kernels/attention.h"

namespace tern::kernels::neon {
namespace {

using Vec = float32x4_t;
constexpr size_t kLanes = 4;
constexpr size_t kValueVecs = 4;   // 4 queries x 4 accumulators + 4 values + 1 weight of 32 registers
Vec load(const float* p) { return vld1q_f32(p); }
void store(float* p, Vec v) { vst1q_f32(p, v); }
Vec add(Vec a, Vec b) { return vaddq_f32(a, b); }
Vec mul(Vec a, Vec b) { return vmulq_f32(a, b); }
Vec max(Vec a, Vec b) { return vmaxq_f32(a, b); }
Vec set1(float x) { return vdupq_n_f32(x); }
size_t lanes_from(size_t valid, size_t first) { return valid > first ? std::min(valid - first, kLanes) : 0; }
// The last key block: only the first `valid - first` lanes are read or written, through a buffer.
Vec load_part(const float* p, size_t valid, size_t first) {
    float lanes[kLanes] = {};
    std::memcpy(lanes, p, lanes_from(valid, first) * sizeof(float));
    return vld1q_f32(lanes);
}
void store_part(float* p, Vec v, size_t valid, size_t first) {
    float lanes[kLanes];
    vst1q_f32(lanes, v);
    std::memcpy(p, lanes, lanes_from(valid, first) * sizeof(float));
}
Vec load(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
Vec load_part(const uint16_t* p, size_t valid, size_t first) {
    uint16_t lanes[kLanes] = {};
    std::memcpy(lanes, p, lanes_from(valid, first) * sizeof(uint16_t));
    return load(lanes);
}
float widen(float x) { return x; }
float widen(uint16_t x) { return fp16_to_fp32(x); }
float max_lanes(Vec v) { return vmaxvq_f32(v); }

}  // namespace

#include "kernels/attention_body.inc"

}  // namespace tern::kernels::neon

// Activation quantisation (activation_quant.h) with 4-lane Advanced SIMD vectors (every
// AArch64 CPU; the neon and neondot tables share it). FMAXNM skips NaN as the reference's
// maximum does, and FCVTZS converts exactly as the reference's cast does on AArch64.
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/activation_quant.h"

namespace tern::kernels::neon {
namespace {

using Floats = float32x4_t;
using Ints = int32x4_t;
constexpr size_t kLanes = 4;

Floats load_floats(const float* p, size_t n) {
    if (n == kLanes) return vld1q_f32(p);
    float lanes[kLanes] = {};
    std::memcpy(lanes, p, n * sizeof(float));
    return vld1q_f32(lanes);
}

Floats max_abs(Floats m, Floats x) { return vmaxnmq_f32(m, vabsq_f32(x)); }

float max_lanes(Floats m) { return vmaxnmvq_f32(m); }

Ints quantize_lanes(Floats x, float a_s) {
    const Floats magic = vdupq_n_f32(12582912.0f);
    const Floats rounded = vsubq_f32(vaddq_f32(vmulq_n_f32(x, a_s), magic), magic);
    return vmaxq_s32(vminq_s32(vcvtq_s32_f32(rounded), vdupq_n_s32(127)), vdupq_n_s32(-128));
}

void store_codes(int8_t* out, Ints q, size_t n) {
    const int16x4_t words = vmovn_s32(q);   // in range already: narrowing keeps the values
    const int8x8_t bytes = vmovn_s16(vcombine_s16(words, words));
    int8_t lanes[8];
    vst1_s8(lanes, bytes);
    std::memcpy(out, lanes, n);
}

Ints zero_ints() { return vdupq_n_s32(0); }
Ints add_ints(Ints a, Ints b) { return vaddq_s32(a, b); }
int32_t reduce_add(Ints v) { return vaddvq_s32(v); }

}  // namespace

#include "kernels/activation_quant_body.inc"

}  // namespace tern::kernels::neon

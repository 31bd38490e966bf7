// Float matmul (float_matmul.h) with Advanced SIMD (every AArch64 CPU; the neon and neondot
// tables share it): the contract's 16 lanes in four 4-lane registers, FMLA for its fused
// multiply-add, FCVTL (F16) and a 16-bit shift (BF16) for its exact widening, and its pairwise
// combination, so every result equals the reference bit for bit.
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/float_matmul.h"

namespace tern::kernels::neon {
namespace {

constexpr size_t kLanes = 16;

// Columns [k, k + 4) of a row as floats.
float32x4_t weights_at(const std::byte* row, format::GgmlType type, size_t k) {
    switch (type) {
        case format::GgmlType::kF16: {
            uint16x4_t half;
            std::memcpy(&half, row + 2 * k, sizeof half);
            return vcvt_f32_f16(vreinterpret_f16_u16(half));
        }
        case format::GgmlType::kBF16: {
            uint16x4_t half;
            std::memcpy(&half, row + 2 * k, sizeof half);
            return vreinterpretq_f32_u32(vshll_n_u16(half, 16));
        }
        default: {
            float32x4_t f;
            std::memcpy(&f, row + 4 * k, sizeof f);
            return f;
        }
    }
}

// The last, partial chunk of 16 columns: zeros past the end, for the weights and for x.
struct Tail {
    alignas(16) std::byte weights[kLanes * 4] = {};
    alignas(16) float x[kLanes] = {};
};

float dot(const std::byte* row, format::GgmlType type, size_t cols, const float* x) {
    float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
    const size_t whole = cols / kLanes * kLanes;
    for (size_t k = 0; k < whole; k += kLanes)
        for (size_t q = 0; q < 4; ++q)
            acc[q] = vfmaq_f32(acc[q], weights_at(row, type, k + 4 * q), vld1q_f32(x + k + 4 * q));
    if (whole < cols) {
        Tail tail;
        const size_t n = cols - whole, element_bytes = type == format::GgmlType::kF32 ? 4 : 2;
        std::memcpy(tail.weights, row + whole * element_bytes, n * element_bytes);
        std::memcpy(tail.x, x + whole, n * sizeof(float));
        for (size_t q = 0; q < 4; ++q)
            acc[q] = vfmaq_f32(acc[q], weights_at(tail.weights, type, 4 * q), vld1q_f32(tail.x + 4 * q));
    }
    // l + (l + 8), then + 4, + 2, + 1.
    const float32x4_t halves = vaddq_f32(vaddq_f32(acc[0], acc[2]), vaddq_f32(acc[1], acc[3]));
    return (vgetq_lane_f32(halves, 0) + vgetq_lane_f32(halves, 2)) + (vgetq_lane_f32(halves, 1) + vgetq_lane_f32(halves, 3));
}

}  // namespace

void float_matmul(const FloatMatmulArgs& a) {
    for (size_t r = a.row_begin; r < a.row_end; ++r) {
        const std::byte* row = a.weights + r * a.row_bytes;
        for (size_t t = 0; t < a.n_tokens; ++t) a.out[t * a.out_stride + r] = dot(row, a.type, a.cols, a.x + t * a.x_stride);
    }
}

}  // namespace tern::kernels::neon

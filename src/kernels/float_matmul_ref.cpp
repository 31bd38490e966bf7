// Scalar reference for the float matmul: 16 fma lanes and a fixed pairwise combine, the
// order every SIMD version reproduces.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/float16.h"
#include "kernels/float_matmul.h"

namespace tern::kernels {

bool float_matmul_supports(format::GgmlType type) {
    return type == format::GgmlType::kF32 || type == format::GgmlType::kF16 || type == format::GgmlType::kBF16;
}

namespace ref {
namespace {

float weight_at(const std::byte* row, format::GgmlType type, size_t k) {
    uint16_t half;
    switch (type) {
        case format::GgmlType::kF16:
            std::memcpy(&half, row + 2 * k, 2);
            return fp16_to_fp32(half);
        case format::GgmlType::kBF16:
            std::memcpy(&half, row + 2 * k, 2);
            return bf16_to_fp32(half);
        default: {
            float f;
            std::memcpy(&f, row + 4 * k, 4);
            return f;
        }
    }
}

}  // namespace

void float_matmul(const FloatMatmulArgs& a) {
    const size_t padded = (a.cols + 15) / 16 * 16;
    for (size_t r = a.row_begin; r < a.row_end; ++r) {
        const std::byte* row = a.weights + r * a.row_bytes;
        for (size_t t = 0; t < a.n_tokens; ++t) {
            const float* x = a.x + t * a.x_stride;
            float lane[16] = {};
            for (size_t k = 0; k < padded; ++k) {
                const float w = k < a.cols ? weight_at(row, a.type, k) : 0.0f;
                const float xk = k < a.cols ? x[k] : 0.0f;
                lane[k % 16] = std::fma(w, xk, lane[k % 16]);
            }
            for (size_t width = 8; width >= 1; width /= 2) {
                for (size_t i = 0; i < width; ++i) lane[i] = lane[i] + lane[i + width];
            }
            a.out[t * a.out_stride + r] = lane[0];
        }
    }
}

}  // namespace ref
}  // namespace tern::kernels

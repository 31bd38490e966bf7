// Scalar reference for the ternary matmul: the definition every SIMD kernel is tested
// against. Written for clarity, in the order that defines the result; it reads the packed
// layout through packed_ternary_value() rather than through any bit trick.
#include <cstdint>

#include "kernels/ternary_matmul.h"

namespace tern::kernels::ref {
namespace {

int32_t ternary_dot(const quant::PackedTernary& w, size_t row, const int8_t* x) {
    int32_t acc = 0;
    for (size_t k = 0; k < w.cols; ++k) acc += quant::packed_ternary_value(w, row, k) * int32_t{x[k]};
    return acc;
}

}  // namespace

void ternary_gemm(const TernaryMatmulArgs& a) {
    const quant::PackedTernary& w = *a.weights;
    const quant::Int8Activations& x = *a.acts;
    for (size_t row = a.tile_begin * quant::kRowTile; row < a.tile_end * quant::kRowTile && row < w.rows; ++row) {
        for (size_t t = 0; t < x.n_tokens; ++t) {
            const int32_t acc = ternary_dot(w, row, x.row(t));
            a.out[t * a.out_stride + row] = static_cast<float>(acc) * x.scale[t] * w.row_scale[row];
        }
    }
}

void ternary_gemv(const TernaryMatmulArgs& a) { ternary_gemm(a); }

}  // namespace tern::kernels::ref

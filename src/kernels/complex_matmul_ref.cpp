// Scalar reference for the complex matmul: the definition every SIMD kernel is tested against,
// reading the packed codes through packed_complex_code() rather than any bit trick.
#include <cstdint>

#include "kernels/complex_matmul.h"

namespace tern::kernels::ref {

void complex_gemm(const ComplexMatmulArgs& a) {
    const quant::PackedComplex& w = *a.weights;
    const quant::Int8Activations& x = *a.acts;
    const size_t n_tokens = x.n_tokens / 2;
    for (size_t row = a.tile_begin * quant::kRowTile; row < a.tile_end * quant::kRowTile && row < w.rows; ++row) {
        for (size_t t = 0; t < n_tokens; ++t) {
            const int8_t* xr = x.row(2 * t);
            const int8_t* xi = x.row(2 * t + 1);
            int32_t pr = 0, pi = 0, qr = 0, qi = 0;
            for (size_t k = 0; k < w.cols; ++k) {
                const uint8_t code = quant::packed_complex_code(w, row, k);
                const int32_t p = quant::complex_code_re(code), q = quant::complex_code_im(code);
                pr += p * xr[k];
                pi += p * xi[k];
                qr += q * xr[k];
                qi += q * xi[k];
            }
            const float scale_re = x.scale[2 * t], scale_im = x.scale[2 * t + 1];
            a.out[t * a.out_stride + row] =
                static_cast<float>(pr) * scale_re * w.scale_re + static_cast<float>(qi) * scale_im * w.scale_im;
            a.out[t * a.out_stride + a.im_offset + row] =
                static_cast<float>(qr) * scale_re * w.scale_im - static_cast<float>(pi) * scale_im * w.scale_re;
        }
    }
}

void complex_gemv(const ComplexMatmulArgs& a) { complex_gemm(a); }

}  // namespace tern::kernels::ref

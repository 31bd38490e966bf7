// Scalar reference for the widely-linear projection: the definition every SIMD kernel is
// tested against, reading codes through widely_linear_code().
#include <cstdint>

#include "kernels/widely_linear_matmul.h"
#include "quant/packed_complex.h"

namespace tern::kernels::ref {
namespace {

struct Sums {   // of one code matrix against x_re and x_im
    float pr, pi, qr, qi;
};

// re and im of one row from each matrix's sums, in the contract's order.
void epilogue(const quant::PackedWidelyLinear& w, const Sums* sums, float sr, float si, float& re, float& im) {
    re = 0.0f;
    im = 0.0f;
    for (size_t j = 0; j < w.n_matrices; ++j) {
        const Sums& s = sums[j];
        const float a = w.scale_re[j], b = w.scale_im[j];
        if (j % 2 == 0) {   // U x
            re += s.pr * sr * a;
            re -= s.qi * si * b;
            im += s.qr * sr * b;
            im += s.pi * si * a;
        } else {            // W conj(x)
            re += s.pr * sr * a;
            re += s.qi * si * b;
            im += s.qr * sr * b;
            im -= s.pi * si * a;
        }
    }
}

// Lane l holds columns k = l (mod 16); lanes then combine pairwise.
float tree(const float lane[16]) {
    float l[16];
    for (int i = 0; i < 16; ++i) l[i] = lane[i];
    for (int width = 8; width >= 1; width /= 2)
        for (int i = 0; i < width; ++i) l[i] += l[i + width];
    return l[0];
}

}  // namespace

void widely_linear_int8(const WidelyLinearInt8Args& a) {
    const quant::PackedWidelyLinear& w = *a.weights;
    const quant::Int8Activations& x = *a.acts;
    for (size_t row = a.tile_begin * quant::kRowTile; row < a.tile_end * quant::kRowTile && row < w.rows; ++row) {
        for (size_t t = 0; t < x.n_tokens / 2; ++t) {
            const int8_t* xr = x.row(2 * t);
            const int8_t* xi = x.row(2 * t + 1);
            Sums sums[quant::kMaxWidelyLinearMatrices];
            for (size_t j = 0; j < w.n_matrices; ++j) {
                int32_t pr = 0, pi = 0, qr = 0, qi = 0;
                for (size_t k = 0; k < w.cols; ++k) {
                    const uint8_t code = quant::widely_linear_code(w, j, row, k);
                    const int32_t p = quant::complex_code_re(code), q = quant::complex_code_im(code);
                    pr += p * xr[k];
                    pi += p * xi[k];
                    qr += q * xr[k];
                    qi += q * xi[k];
                }
                sums[j] = {static_cast<float>(pr), static_cast<float>(pi), static_cast<float>(qr), static_cast<float>(qi)};
            }
            epilogue(w, sums, x.scale[2 * t], x.scale[2 * t + 1], a.out[t * a.out_stride + row],
                     a.out[t * a.out_stride + a.im_offset + row]);
        }
    }
}

void widely_linear_float(const WidelyLinearFloatArgs& a) {
    const quant::PackedWidelyLinear& w = *a.weights;
    for (size_t row = a.tile_begin * quant::kRowTile; row < a.tile_end * quant::kRowTile && row < w.rows; ++row) {
        for (size_t t = 0; t < a.n_tokens; ++t) {
            const float* xr = a.x + t * a.x_stride;
            const float* xi = xr + w.cols;
            Sums sums[quant::kMaxWidelyLinearMatrices];
            for (size_t j = 0; j < w.n_matrices; ++j) {
                float pr[16] = {}, pi[16] = {}, qr[16] = {}, qi[16] = {};
                for (size_t k = 0; k < w.cols; ++k) {
                    const uint8_t code = quant::widely_linear_code(w, j, row, k);
                    const size_t l = k % 16;
                    // Masked add or subtract: the code picks the sums and the sign, nothing multiplies.
                    const bool negative = (code & 2) != 0;
                    if ((code & 1) == 0) {
                        pr[l] = negative ? pr[l] - xr[k] : pr[l] + xr[k];
                        pi[l] = negative ? pi[l] - xi[k] : pi[l] + xi[k];
                    } else {
                        qr[l] = negative ? qr[l] - xr[k] : qr[l] + xr[k];
                        qi[l] = negative ? qi[l] - xi[k] : qi[l] + xi[k];
                    }
                }
                sums[j] = {tree(pr), tree(pi), tree(qr), tree(qi)};
            }
            epilogue(w, sums, 1.0f, 1.0f, a.out[t * a.out_stride + row], a.out[t * a.out_stride + a.im_offset + row]);
        }
    }
}

}  // namespace tern::kernels::ref

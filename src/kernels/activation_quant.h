// Per-token int8 activations (quant/int8_activations.h), per ISA. The scalar reference is
// quant::quantize_activation_rows, and every version writes its very bytes, scales and sums:
// the row maximum is exact in any order, and each element goes through the same three float
// operations (times a_s, plus and minus 1.5 * 2^23, which rounds half to even) and the same
// clamp, nothing fused (-ffp-contract=off).
#pragma once

#include <cstddef>

#include "quant/int8_activations.h"

namespace tern::kernels {

// Rows [token_begin, token_end) of x (row t at x + t * x_stride) into `acts`, already shaped
// by quant::reshape_activations.
using QuantizeActivationsFn = void (*)(const float* x, size_t x_stride, quant::Int8Activations& acts,
                                       size_t token_begin, size_t token_end);

namespace avx2 {
void quantize_activation_rows(const float* x, size_t x_stride, quant::Int8Activations& acts, size_t token_begin,
                              size_t token_end);
}  // namespace avx2
namespace avx512 {
void quantize_activation_rows(const float* x, size_t x_stride, quant::Int8Activations& acts, size_t token_begin,
                              size_t token_end);
}  // namespace avx512
namespace neon {
void quantize_activation_rows(const float* x, size_t x_stride, quant::Int8Activations& acts, size_t token_begin,
                              size_t token_end);
}  // namespace neon

}  // namespace tern::kernels

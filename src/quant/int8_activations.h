// Per-token int8 activations with BitNet b1.58 semantics (architectures.md §1.5,
// formats.md §5.3): for each token row x,
//   a_s = 127 / max(max|x|, 1e-5),  x_q = clamp(round_half_even(x * a_s), -128, 127),
// and the kernels' float epilogue multiplies the exact int32 dot product by 1 / a_s.
// Rows are zero-padded to a multiple of the weights' chunk width (256 columns, 320 for the
// base-3 layout) so that every kernel can stream whole chunks; the padding contributes
// nothing to any dot product.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/aligned_buffer.h"

namespace tern::quant {

inline constexpr size_t kActivationColumnGranule = 256;

struct Int8Activations {
    size_t n_tokens = 0;
    size_t cols = 0;          // real columns (K)
    size_t cols_padded = 0;   // K rounded up to the column granule
    AlignedBuffer<int8_t> values;   // [n_tokens][cols_padded], padding is 0
    AlignedBuffer<float> scale;     // [n_tokens] 1 / a_s: multiply the int32 dot by this
    AlignedBuffer<int32_t> sum;     // [n_tokens] sum of the token's x_q (zero-point corrections)

    const int8_t* row(size_t token) const { return values.data() + token * cols_padded; }
};

// Sizes `acts` for n_tokens x cols, reusing its buffers when they are already big enough.
// column_granule: the chunk width of the weights these activations meet (layout_chunk_cols).
void reshape_activations(Int8Activations& acts, size_t n_tokens, size_t cols,
                         size_t column_granule = kActivationColumnGranule);

// Quantises n_tokens rows of `cols` floats (row t starts at x + t * x_stride) into `acts`.
// Inputs must be finite (a non-finite activation is a bug upstream, not bad input).
void quantize_activations(const float* x, size_t n_tokens, size_t cols, size_t x_stride, Int8Activations& acts,
                          size_t column_granule = kActivationColumnGranule);

// The rows [token_begin, token_end) only, into `acts` already shaped by reshape_activations
// (rows are independent, so threads can split them).
void quantize_activation_rows(const float* x, size_t x_stride, Int8Activations& acts, size_t token_begin,
                              size_t token_end);

}  // namespace tern::quant

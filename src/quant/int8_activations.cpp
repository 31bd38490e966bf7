#include "quant/int8_activations.h"

#include "quant/abs_max.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tern::quant {

void reshape_activations(Int8Activations& acts, size_t n_tokens, size_t cols, size_t column_granule) {
    const size_t cols_padded = (cols + column_granule - 1) / column_granule * column_granule;
    if (acts.values.size() < n_tokens * cols_padded) acts.values = AlignedBuffer<int8_t>(n_tokens * cols_padded);
    if (acts.scale.size() < n_tokens) {
        acts.scale = AlignedBuffer<float>(n_tokens);
        acts.sum = AlignedBuffer<int32_t>(n_tokens);
    }
    acts.n_tokens = n_tokens;
    acts.cols = cols;
    acts.cols_padded = cols_padded;
}

void quantize_activations(const float* x, size_t n_tokens, size_t cols, size_t x_stride, Int8Activations& acts,
                          size_t column_granule) {
    reshape_activations(acts, n_tokens, cols, column_granule);
    quantize_activation_rows(x, x_stride, acts, 0, n_tokens);
}

void quantize_activation_rows(const float* x, size_t x_stride, Int8Activations& acts, size_t token_begin,
                              size_t token_end) {
    const size_t cols = acts.cols;
    for (size_t t = token_begin; t < token_end; ++t) {
        const float* in = x + t * x_stride;
        int8_t* out = acts.values.data() + t * acts.cols_padded;
        const float amax = abs_max(in, cols);
        const float a_s = 127.0f / std::max(amax, 1e-5f);
        int32_t sum = 0;
        for (size_t k = 0; k < cols; ++k) {
            // |in * a_s| <= 127 here, so adding and subtracting 1.5 * 2^23 rounds to the
            // nearest integer with ties to even (the default rounding mode), like torch.round
            // and lrint, without a library call; -ffp-contract=off keeps the two steps apart.
            const float rounded = (in[k] * a_s + 12582912.0f) - 12582912.0f;
            const int32_t q = std::clamp(static_cast<int32_t>(rounded), -128, 127);
            out[k] = static_cast<int8_t>(q);
            sum += q;
        }
        std::memset(out + cols, 0, acts.cols_padded - cols);
        acts.scale[t] = 1.0f / a_s;
        acts.sum[t] = sum;
    }
}

}  // namespace tern::quant

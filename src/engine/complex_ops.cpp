#include "engine/complex_ops.h"

#include <cmath>

#include "engine/layer_ops.h"

namespace tern::engine {

void complex_rms_norm(const float* x, const float* w, size_t n, float eps, float* out) {
    const float mean_square = dot(x, x, 2 * n) / static_cast<float>(n);
    const float scale = 1.0f / std::sqrt(mean_square + eps);
    for (size_t i = 0; i < 2 * n; ++i) out[i] = w[i] * (x[i] * scale);
}

void complex_relu2_gate(float* g, const float* u, size_t n) {
    float* g_re = g;
    float* g_im = g + n;
    const float* u_re = u;
    const float* u_im = u + n;
    for (size_t j = 0; j < n; ++j) {
        const bool both_negative = g_re[j] < 0.0f && g_im[j] < 0.0f;
        const float a = both_negative ? 0.0f : g_re[j], b = both_negative ? 0.0f : g_im[j];
        const float a2 = a * a, b2 = b * b;
        g_re[j] = a2 * u_re[j] + b2 * u_im[j];
        g_im[j] = a2 * u_im[j] - b2 * u_re[j];
    }
}

void complex_to_heads(const float* x, size_t n_heads, size_t head_dim, float* out) {
    const size_t n = n_heads * head_dim;
    for (size_t h = 0; h < n_heads; ++h)
        for (size_t j = 0; j < head_dim; ++j) {
            out[h * 2 * head_dim + j] = x[h * head_dim + j];
            out[h * 2 * head_dim + head_dim + j] = x[n + h * head_dim + j];
        }
}

void complex_from_heads(const float* x, size_t n_heads, size_t head_dim, float* out) {
    const size_t n = n_heads * head_dim;
    for (size_t h = 0; h < n_heads; ++h)
        for (size_t j = 0; j < head_dim; ++j) {
            out[h * head_dim + j] = x[h * 2 * head_dim + j];
            out[n + h * head_dim + j] = x[h * 2 * head_dim + head_dim + j];
        }
}

}  // namespace tern::engine

#include "engine/layer_ops.h"

#include <algorithm>
#include <cmath>

namespace tern::engine {

float dot(const float* a, const float* b, size_t n) {
    float lane[8] = {};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t l = 0; l < 8; ++l) lane[l] += a[i + l] * b[i + l];
    for (size_t l = 0; i < n; ++i, ++l) lane[l] += a[i] * b[i];
    for (size_t l = 0; l < 4; ++l) lane[l] += lane[l + 4];
    lane[0] += lane[2];
    lane[1] += lane[3];
    return lane[0] + lane[1];
}

void rms_norm(const float* x, const float* w, size_t n, float eps, float* out) {
    const float mean_square = dot(x, x, n) / static_cast<float>(n);
    const float scale = 1.0f / std::sqrt(mean_square + eps);
    for (size_t i = 0; i < n; ++i) out[i] = w[i] * (x[i] * scale);
}

void rope_angles(size_t pos, size_t head_dim, float theta, float* cos, float* sin) {
    for (size_t i = 0; i < head_dim / 2; ++i) {
        const double inv_freq = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / head_dim);
        const double angle = static_cast<double>(pos) * inv_freq;
        cos[i] = static_cast<float>(std::cos(angle));
        sin[i] = static_cast<float>(std::sin(angle));
    }
}

void apply_rope(float* x, size_t n_heads, size_t head_dim, const float* cos, const float* sin, model::RopePairing pairing) {
    // Heads outside, pairs inside: a head's pairs are contiguous (NEOX: two runs; NORM:
    // adjacent), so the inner loop vectorises. Every element gets the same operations in
    // either order.
    const size_t half = head_dim / 2;
    for (size_t h = 0; h < n_heads; ++h) {
        float* head = x + h * head_dim;
        if (pairing == model::RopePairing::kNeox) {
            for (size_t i = 0; i < half; ++i) {
                const float a = head[i], b = head[i + half];
                head[i] = a * cos[i] - b * sin[i];
                head[i + half] = a * sin[i] + b * cos[i];
            }
        } else {
            for (size_t i = 0; i < half; ++i) {
                const float a = head[2 * i], b = head[2 * i + 1];
                head[2 * i] = a * cos[i] - b * sin[i];
                head[2 * i + 1] = a * sin[i] + b * cos[i];
            }
        }
    }
}

void gated_activation(float* gate, const float* up, size_t n, model::FfnActivation activation) {
    if (activation == model::FfnActivation::kRelu2) {
        // (g + |g|) / 2 is max(g, 0) with no comparison: GCC compiles std::max here into a
        // branch that half the (either-signed) gate values mispredict, and this vectorises.
        // Same bits as std::max(g, 0) in r * r * up for every g: exact for finite g, where 2g
        // overflows so does g * g, and NaN stays NaN.
        for (size_t i = 0; i < n; ++i) {
            const float g = gate[i];
            const float r = (g + std::fabs(g)) * 0.5f;
            gate[i] = r * r * up[i];
        }
    } else {
        for (size_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
    }
}

}  // namespace tern::engine

// The attention contract (attention.h) in plain scalar code: the reference.
#include <algorithm>
#include <cmath>

#include "core/float16.h"
#include "kernels/attention.h"

namespace tern::kernels::ref {

namespace {

// Element `index` of a key or value buffer, widened to f32.
float element(const void* data, KvType type, size_t index) {
    if (type == KvType::kF16) return fp16_to_fp32(static_cast<const uint16_t*>(data)[index]);
    return static_cast<const float*>(data)[index];
}

void attend_one(const AttendArgs& a) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(a.head_dim));
    std::fill(a.scores, a.scores + a.n_keys, 0.0f);
    for (size_t i = 0; i < a.head_dim; ++i) {
        const float qi = a.q[i];
        for (size_t s = 0; s < a.n_keys; ++s)
            a.scores[s] += qi * element(a.keys, a.kv_type, (s / kKeyBlock * a.head_dim + i) * kKeyBlock + s % kKeyBlock);
    }
    float max_score = -INFINITY;
    for (size_t s = 0; s < a.n_keys; ++s) {
        a.scores[s] *= scale;
        max_score = std::max(max_score, a.scores[s]);
    }
    float sum = 0.0f;
    for (size_t s = 0; s < a.n_keys; ++s) {
        a.scores[s] = std::exp(a.scores[s] - max_score);
        sum += a.scores[s];
    }
    const float inv_sum = 1.0f / sum;
    std::fill(a.out, a.out + a.head_dim, 0.0f);
    for (size_t s = 0; s < a.n_keys; ++s) {
        const float p = a.scores[s] * inv_sum;
        for (size_t i = 0; i < a.head_dim; ++i) a.out[i] += p * element(a.values, a.kv_type, s * a.value_stride + i);
    }
}

}  // namespace

void attend(const AttendArgs& a) {
    for (size_t g = 0; g < a.n_queries; ++g) {
        AttendArgs one = a;
        one.q = a.q + g * a.head_dim;
        one.n_queries = 1;
        one.out = a.out + g * a.head_dim;
        attend_one(one);
    }
}

}  // namespace tern::kernels::ref

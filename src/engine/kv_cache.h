// Keys and values of every layer for positions 0..n_ctx-1, f32, [layer][position][kv_dim].
#pragma once

#include <cstddef>

#include "core/aligned_buffer.h"

namespace tern::engine {

struct KvCache {
    KvCache(size_t n_layer, size_t n_ctx, size_t kv_dim)
        : n_ctx(n_ctx), kv_dim(kv_dim), keys(n_layer * n_ctx * kv_dim), values(n_layer * n_ctx * kv_dim) {}

    float* key(size_t layer, size_t pos) { return keys.data() + (layer * n_ctx + pos) * kv_dim; }
    float* value(size_t layer, size_t pos) { return values.data() + (layer * n_ctx + pos) * kv_dim; }
    size_t bytes() const { return keys.size_bytes() + values.size_bytes(); }

    size_t n_ctx;
    size_t kv_dim;
    AlignedBuffer<float> keys;
    AlignedBuffer<float> values;
};

}  // namespace tern::engine

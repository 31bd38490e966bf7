// Keys and values of every layer for positions 0..n_ctx-1 of each of n_slots independent
// sequences (one slot per concurrent request in the server; one for a plain session), f32.
// Keys are stored transposed, [slot][layer][kv head][dim][position], so that the scores of
// one query against all positions are a sweep of contiguous rows (vectorisable, no
// horizontal sums); values are [slot][layer][position][kv_dim], so that the weighted sum is a
// sweep of contiguous rows too. Positions are written before they are read, so the buffers
// start uninitialised: a slot's memory is only committed as its sequence grows.
#pragma once

#include <cstddef>

#include "core/aligned_buffer.h"

namespace tern::engine {

struct KvCache {
    KvCache(size_t n_slots, size_t n_layer, size_t n_ctx, size_t n_kv_heads, size_t head_dim)
        : n_slots(n_slots),
          n_layer(n_layer),
          n_ctx(n_ctx),
          n_kv_heads(n_kv_heads),
          head_dim(head_dim),
          keys(n_slots * n_layer * n_ctx * n_kv_heads * head_dim, AlignedBuffer<float>::kLeaveUninitialized),
          values(n_slots * n_layer * n_ctx * n_kv_heads * head_dim, AlignedBuffer<float>::kLeaveUninitialized) {}

    size_t kv_dim() const { return n_kv_heads * head_dim; }
    // Row `dim` of a head's keys is key_plane(...) + dim * n_ctx.
    const float* key_plane(size_t slot, size_t layer, size_t kv_head) const {
        return keys.data() + ((slot * n_layer + layer) * n_kv_heads + kv_head) * head_dim * n_ctx;
    }
    const float* value(size_t slot, size_t layer, size_t pos) const {
        return values.data() + ((slot * n_layer + layer) * n_ctx + pos) * kv_dim();
    }
    void store(size_t slot, size_t layer, size_t pos, const float* k, const float* v) {
        for (size_t h = 0; h < n_kv_heads; ++h) {
            float* plane = keys.data() + ((slot * n_layer + layer) * n_kv_heads + h) * head_dim * n_ctx;
            for (size_t i = 0; i < head_dim; ++i) plane[i * n_ctx + pos] = k[h * head_dim + i];
        }
        float* row = values.data() + ((slot * n_layer + layer) * n_ctx + pos) * kv_dim();
        for (size_t i = 0; i < kv_dim(); ++i) row[i] = v[i];
    }
    size_t bytes() const { return keys.size_bytes() + values.size_bytes(); }

    size_t n_slots;
    size_t n_layer;
    size_t n_ctx;
    size_t n_kv_heads;
    size_t head_dim;
    AlignedBuffer<float> keys;
    AlignedBuffer<float> values;
};

}  // namespace tern::engine

// Keys and values of every layer for positions 0..n_ctx-1 of each of n_slots independent
// sequences (one slot per concurrent request in the server; one for a plain session), f32,
// in the layout the attention kernel reads (kernels/attention.h):
//   keys   [slot][layer][kv head][block of 16 positions][dim][16]
//   values [slot][layer][kv head][position][dim]
// so one head's keys and values are each one contiguous stream, read front to back.
// Positions are written before they are read, so the buffers start uninitialised: a slot's
// memory is only committed as its sequence grows.
#pragma once

#include <cstddef>

#include "core/aligned_buffer.h"
#include "kernels/attention.h"

namespace tern::engine {

struct KvCache {
    static constexpr size_t kBlock = kernels::kKeyBlock;

    KvCache(size_t n_slots, size_t n_layer, size_t n_ctx, size_t n_kv_heads, size_t head_dim)
        : n_slots(n_slots),
          n_layer(n_layer),
          n_ctx(n_ctx),
          n_kv_heads(n_kv_heads),
          head_dim(head_dim),
          head_floats((n_ctx + kBlock - 1) / kBlock * kBlock * head_dim),
          keys(n_slots * n_layer * n_kv_heads * head_floats, AlignedBuffer<float>::kLeaveUninitialized),
          values(n_slots * n_layer * n_kv_heads * head_floats, AlignedBuffer<float>::kLeaveUninitialized) {}

    const float* key_plane(size_t slot, size_t layer, size_t kv_head) const { return keys.data() + head(slot, layer, kv_head); }
    const float* value_plane(size_t slot, size_t layer, size_t kv_head) const {
        return values.data() + head(slot, layer, kv_head);
    }
    // k and v hold all KV heads of one position, [kv head][dim].
    void store(size_t slot, size_t layer, size_t pos, const float* k, const float* v) {
        for (size_t h = 0; h < n_kv_heads; ++h) {
            float* key_block = keys.data() + head(slot, layer, h) + pos / kBlock * kBlock * head_dim + pos % kBlock;
            for (size_t i = 0; i < head_dim; ++i) key_block[i * kBlock] = k[h * head_dim + i];
            float* value_row = values.data() + head(slot, layer, h) + pos * head_dim;
            for (size_t i = 0; i < head_dim; ++i) value_row[i] = v[h * head_dim + i];
        }
    }
    size_t bytes() const { return keys.size_bytes() + values.size_bytes(); }

    size_t n_slots;
    size_t n_layer;
    size_t n_ctx;
    size_t n_kv_heads;
    size_t head_dim;
    size_t head_floats;   // one head's keys (or values) for all positions, padded to whole blocks
    AlignedBuffer<float> keys;
    AlignedBuffer<float> values;

private:
    size_t head(size_t slot, size_t layer, size_t kv_head) const {
        return ((slot * n_layer + layer) * n_kv_heads + kv_head) * head_floats;
    }
};

}  // namespace tern::engine

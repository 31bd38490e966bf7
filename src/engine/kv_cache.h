// Keys and values of every layer for positions 0..n_ctx-1 of each of n_slots independent
// sequences (one slot per concurrent request in the server; one for a plain session), f32 or
// f16 (kernels::KvType), in the layout the attention kernel reads (kernels/attention.h):
//   keys   [slot][layer][kv head][block of 16 positions][dim][16]
//   values [slot][layer][kv head][position][dim]
// so one head's keys and values are each one contiguous stream, read front to back.
// Positions are written before they are read, so the buffers start uninitialised: a slot's
// memory is only committed as its sequence grows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/aligned_buffer.h"
#include "core/float16.h"
#include "kernels/attention.h"

namespace tern::engine {

struct KvCache {
    static constexpr size_t kBlock = kernels::kKeyBlock;

    KvCache(size_t n_slots, size_t n_layer, size_t n_ctx, size_t n_kv_heads, size_t head_dim,
            kernels::KvType type = kernels::KvType::kF32)
        : n_slots(n_slots),
          n_layer(n_layer),
          n_ctx(n_ctx),
          n_kv_heads(n_kv_heads),
          head_dim(head_dim),
          type(type),
          head_elems((n_ctx + kBlock - 1) / kBlock * kBlock * head_dim) {
        const size_t n = n_slots * n_layer * n_kv_heads * head_elems;
        if (type == kernels::KvType::kF16) {
            keys_f16 = AlignedBuffer<uint16_t>(n, AlignedBuffer<uint16_t>::kLeaveUninitialized);
            values_f16 = AlignedBuffer<uint16_t>(n, AlignedBuffer<uint16_t>::kLeaveUninitialized);
        } else {
            keys_f32 = AlignedBuffer<float>(n, AlignedBuffer<float>::kLeaveUninitialized);
            values_f32 = AlignedBuffer<float>(n, AlignedBuffer<float>::kLeaveUninitialized);
        }
    }

    const void* key_plane(size_t slot, size_t layer, size_t kv_head) const {
        const size_t at = head(slot, layer, kv_head);
        return type == kernels::KvType::kF16 ? static_cast<const void*>(keys_f16.data() + at) : keys_f32.data() + at;
    }
    const void* value_plane(size_t slot, size_t layer, size_t kv_head) const {
        const size_t at = head(slot, layer, kv_head);
        return type == kernels::KvType::kF16 ? static_cast<const void*>(values_f16.data() + at) : values_f32.data() + at;
    }
    // k and v hold all KV heads of one position, [kv head][dim]; f16 rounds to nearest even.
    void store(size_t slot, size_t layer, size_t pos, const float* k, const float* v) {
        if (type == kernels::KvType::kF16)
            store_as(keys_f16, values_f16, slot, layer, pos, k, v, [](float x) { return fp32_to_fp16(x); });
        else
            store_as(keys_f32, values_f32, slot, layer, pos, k, v, [](float x) { return x; });
    }
    size_t bytes() const {
        return keys_f32.size_bytes() + values_f32.size_bytes() + keys_f16.size_bytes() + values_f16.size_bytes();
    }

    size_t n_slots;
    size_t n_layer;
    size_t n_ctx;
    size_t n_kv_heads;
    size_t head_dim;
    kernels::KvType type;
    size_t head_elems;   // one head's keys (or values) for all positions, padded to whole blocks

private:
    size_t head(size_t slot, size_t layer, size_t kv_head) const {
        return ((slot * n_layer + layer) * n_kv_heads + kv_head) * head_elems;
    }
    template <class Elem, class Convert>
    void store_as(AlignedBuffer<Elem>& keys, AlignedBuffer<Elem>& values, size_t slot, size_t layer, size_t pos,
                  const float* k, const float* v, Convert convert) {
        for (size_t h = 0; h < n_kv_heads; ++h) {
            Elem* key_block = keys.data() + head(slot, layer, h) + pos / kBlock * kBlock * head_dim + pos % kBlock;
            for (size_t i = 0; i < head_dim; ++i) key_block[i * kBlock] = convert(k[h * head_dim + i]);
            Elem* value_row = values.data() + head(slot, layer, h) + pos * head_dim;
            for (size_t i = 0; i < head_dim; ++i) value_row[i] = convert(v[h * head_dim + i]);
        }
    }

    // Only the pair of the cache's type is allocated.
    AlignedBuffer<float> keys_f32, values_f32;
    AlignedBuffer<uint16_t> keys_f16, values_f16;
};

}  // namespace tern::engine

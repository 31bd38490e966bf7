#include "engine/attention_step.h"

#include "engine/layer_ops.h"

namespace tern::engine {

AttentionStep::AttentionStep(const kernels::KernelTable& table, ThreadPool& pool, size_t n_slots, size_t n_layer,
                             size_t n_ctx, size_t n_head, size_t n_head_kv, size_t head_dim, float rope_theta,
                             kernels::KvType kv_type, size_t max_rows)
    : table_(table),
      pool_(pool),
      cache_(n_slots, n_layer, n_ctx, n_head_kv, head_dim, kv_type),
      n_head_(n_head),
      n_head_kv_(n_head_kv),
      head_dim_(head_dim),
      rope_theta_(rope_theta),
      rope_cos_(max_rows * head_dim / 2),
      rope_sin_(max_rows * head_dim / 2),
      // A rank of a split job may hold no heads at all (more ranks than KV heads).
      scores_(n_head_kv == 0 ? 0 : static_cast<size_t>(pool.size()) * (n_head / n_head_kv) * n_ctx) {}

void AttentionStep::set_positions(const StepRows& rows) {
    const size_t half = head_dim_ / 2;
    for (size_t t = 0; t < rows.n; ++t)
        rope_angles(rows.pos[t], head_dim_, rope_theta_, rope_cos_.data() + t * half, rope_sin_.data() + t * half);
}

void AttentionStep::run(size_t layer, const StepRows& rows, float* q, float* k, const float* v,
                        model::RopePairing pairing, float* out) {
    if (n_head_kv_ == 0) return;
    const size_t q_dim = n_head_ * head_dim_, kv_dim = n_head_kv_ * head_dim_, half = head_dim_ / 2;
    // Tokens write distinct cache positions, so they can go to the pool together.
    for_rows(pool_, rows.n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) {
            const float* cos = rope_cos_.data() + t * half;
            const float* sin = rope_sin_.data() + t * half;
            apply_rope(q + t * q_dim, n_head_, head_dim_, cos, sin, pairing);
            apply_rope(k + t * kv_dim, n_head_kv_, head_dim_, cos, sin, pairing);
            cache_.store(rows.slot[t], layer, rows.pos[t], k + t * kv_dim, v + t * kv_dim);
        }
    });
    // Work items are (KV head, token): the query heads sharing a KV head go through the kernel
    // together, so each cached key and value is read once per group. Later tokens of a prompt
    // attend to more keys, so the items are handed out one by one rather than split evenly.
    const size_t group = n_head_ / n_head_kv_;
    pool_.parallel_for_dynamic(n_head_kv_ * rows.n, 1, [&](int thread_idx, size_t begin, size_t end) {
        float* scores = scores_.data() + static_cast<size_t>(thread_idx) * group * cache_.n_ctx;
        for (size_t item = begin; item < end; ++item) {
            const size_t t = item / n_head_kv_, kv_head = item % n_head_kv_, slot = rows.slot[t];
            const size_t first_head = kv_head * group;
            table_.attend({.q = q + t * q_dim + first_head * head_dim_,
                           .n_queries = group,
                           .keys = cache_.key_plane(slot, layer, kv_head),
                           .values = cache_.value_plane(slot, layer, kv_head),
                           .kv_type = cache_.type,
                           .value_stride = head_dim_,
                           .n_keys = rows.pos[t] + 1,
                           .head_dim = head_dim_,
                           .scores = scores,
                           .out = out + t * q_dim + first_head * head_dim_});
        }
    });
}

}  // namespace tern::engine

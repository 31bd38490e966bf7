// Causal self-attention of one step's rows over a KV cache, shared by the transformer stacks:
// rotary embedding, the cache write, and the attention kernel per (KV head, row).
#pragma once

#include <cstddef>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "engine/kv_cache.h"
#include "engine/layer_stack.h"
#include "kernels/dispatch.h"
#include "model/architecture.h"

namespace tern::engine {

class AttentionStep {
public:
    // head_dim: floats per head as the kernel sees it (a complex head of D values is 2D).
    AttentionStep(const kernels::KernelTable& table, ThreadPool& pool, size_t n_slots, size_t n_layer, size_t n_ctx,
                  size_t n_head, size_t n_head_kv, size_t head_dim, float rope_theta, kernels::KvType kv_type,
                  size_t max_rows);

    // Rotation angles of every row of the step (once per step, shared by all layers).
    void set_positions(const StepRows& rows);
    // Rotates q ([row][n_head * head_dim]) and k ([row][n_head_kv * head_dim]) in place with
    // `pairing`, stores k and v at each row's position, then writes each row's attention
    // output to out ([row][n_head * head_dim]).
    void run(size_t layer, const StepRows& rows, float* q, float* k, const float* v, model::RopePairing pairing,
             float* out);

    const KvCache& cache() const { return cache_; }

private:
    const kernels::KernelTable& table_;
    ThreadPool& pool_;
    KvCache cache_;
    size_t n_head_, n_head_kv_, head_dim_;
    float rope_theta_;
    AlignedBuffer<float> rope_cos_, rope_sin_;   // [row][head_dim / 2]
    AlignedBuffer<float> scores_;                // [thread][group * n_ctx]
};

}  // namespace tern::engine

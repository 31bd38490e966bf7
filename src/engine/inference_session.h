// One sequence being evaluated: the KV cache, scratch buffers and the forward pass. Tokens
// are appended in batches (prefill goes through the ternary GEMM kernels, one token through
// GEMV); logits come out for the last token or for every token of the batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "engine/kv_cache.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "quant/int8_activations.h"
#include "tern/status.h"

namespace tern::engine {

inline constexpr size_t kMaxBatchTokens = 128;   // tokens per forward step; longer inputs are split

class InferenceSession {
public:
    // n_ctx == 0 uses the model's training context. The model, table and pool must outlive this.
    InferenceSession(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool, size_t n_ctx);

    // Appends `tokens` at positions n_past()...; errors (nothing appended): an id outside the
    // vocabulary, or more tokens than the context has room for.
    Status evaluate(std::span<const int32_t> tokens, bool all_logits = false);

    // [rows][n_vocab]: one row (the last token) or one per token of the last evaluate().
    std::span<const float> logits() const { return {logits_.data(), logits_rows_ * model_.hp.n_vocab}; }
    std::span<const float> last_logits() const;
    size_t n_past() const { return n_past_; }
    size_t n_ctx() const { return cache_.n_ctx; }
    size_t kv_cache_bytes() const { return cache_.bytes(); }
    // Forgets positions >= n (n <= n_past()): for a new prompt or a shortened conversation.
    void truncate(size_t n);

private:
    void forward(const int32_t* tokens, size_t n);
    void embed(const int32_t* tokens, size_t n);
    void attention_block(size_t layer, size_t n);
    void ffn_block(size_t layer, size_t n);
    void attention(size_t layer, size_t n);
    void matmul(const quant::PackedTernary& w, float* out);
    void quantize(const float* x, size_t n, size_t cols);   // rows of `cols` floats, split over the pool
    void norm_rows(const float* in, size_t in_stride, const std::vector<float>& w, size_t n_rows, size_t n, float* out);
    void head(size_t first_row, size_t n_rows, size_t logits_row);

    const model::Model& model_;
    const kernels::KernelTable& table_;
    ThreadPool& pool_;
    KvCache cache_;
    size_t n_past_ = 0;
    size_t logits_rows_ = 0;
    std::vector<float> logits_;
    // Scratch, kMaxBatchTokens rows each.
    AlignedBuffer<float> x_, h_, q_, k_, v_, att_, proj_, gate_, up_;
    AlignedBuffer<float> scores_;   // [thread][n_ctx]
    AlignedBuffer<std::byte> head_q8_;   // Q8_0 copy of the final hidden states (Q8_0 head only)
    quant::Int8Activations acts_;
};

}  // namespace tern::engine

// Sequences being evaluated: one slot per sequence, the embedding, the model family's layers
// (a LayerStack, which holds the KV cache or recurrent state of every slot) and the LM head. Tokens are appended in batches (prefill goes through the ternary GEMM
// kernels, one token through GEMV); logits come out for the last token or for every token of
// the batch. A batch may mix tokens of several slots (the server's continuous batching: the
// decode steps of all active requests share one GEMM per projection). Every computation is
// per token, so a sequence's logits are bit-identical whether it runs alone or batched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "engine/kv_cache.h"
#include "engine/layer_stack.h"
#include "engine/model_split.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "quant/int8_activations.h"
#include "tern/status.h"

namespace tern::engine {

inline constexpr size_t kMaxBatchTokens = 128;   // tokens per forward step; longer inputs are split

// One token of a mixed batch: appended to `slot`'s sequence at its next position.
struct BatchToken {
    int32_t token = 0;
    size_t slot = 0;
    bool logits = false;   // this token's logits are wanted
};

class InferenceSession {
public:
    // n_ctx == 0 uses the model's training context (per slot). The model, table and pool must
    // outlive this. With `split`, the model holds this rank's share (model_split.h) and every
    // rank computes its part; on the leader the session also drives the followers' copies.
    InferenceSession(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool, size_t n_ctx,
                     size_t n_slots = 1, kernels::KvType kv_type = kernels::KvType::kF32,
                     ModelSplit* split = nullptr);
    ~InferenceSession();
    InferenceSession(const InferenceSession&) = delete;
    InferenceSession& operator=(const InferenceSession&) = delete;

    // Appends `tokens` to slot 0 at positions n_past()...; errors (nothing appended): an id
    // outside the vocabulary, or more tokens than the context has room for.
    Status evaluate(std::span<const int32_t> tokens, bool all_logits = false);

    // Appends each token to its slot's sequence, in order (a slot may appear several times);
    // logits rows come out for the tokens that ask for them, in batch order. Same errors as
    // evaluate(), checked for every slot before anything is appended.
    Status evaluate_batch(std::span<const BatchToken> batch);

    // evaluate_batch() in two halves, so that a pipeline (--split layers) can have several
    // batches in flight: start_batch() returns once this rank's layers are done, and on the
    // leader the final hidden states and the last rank's half of the logits then arrive while the
    // caller starts batches of other slots on other lanes; finish_batch() waits for them and
    // computes the leader's half of the head. Without a pipeline, start_batch() computes
    // everything. A lane holds one batch at a time, and batches finish in the order
    // they started. The same errors as evaluate_batch().
    Status start_batch(std::span<const BatchToken> batch, size_t lane = 0);
    void finish_batch(size_t lane = 0);

    // [rows][n_vocab]: the rows asked for by the last batch of the lane (evaluate() and
    // evaluate_batch() use lane 0). On the other ranks of a split job they are incomplete (split
    // by rows: only the rank's columns; by layers: the last rank's columns on the last rank,
    // none on the ranks between).
    std::span<const float> logits() const { return lanes_[0].logits; }
    std::span<const float> logits_row(size_t row, size_t lane = 0) const;
    std::span<const float> last_logits() const;
    size_t n_past(size_t slot = 0) const { return n_past_[slot]; }
    size_t n_ctx() const { return n_ctx_; }
    size_t n_slots() const { return n_past_.size(); }
    size_t kv_cache_bytes() const { return layers_->memory_bytes(); }
    kernels::KvType kv_type() const { return kv_type_; }
    // Forgets positions >= n of a slot (n <= n_past(slot)): for a new prompt, a shortened
    // conversation or a finished request. A recurrent model (can_rewind() false) can only
    // forget everything (n == 0) or nothing.
    void truncate(size_t n, size_t slot = 0);
    bool can_rewind() const { return layers_->rewindable(); }

private:
    // A batch's logits rows; in a pipeline, on the leader, the receives that complete them.
    struct Lane {
        std::vector<float> logits;
        size_t rows = 0;
        size_t receive_ticket = 0;   // 0: nothing on its way
        size_t hidden_ticket = 0;    // pipeline, leader: the receive of the last hidden states
        bool in_flight = false;
        // Pipeline, on the leader and the last rank: the rows' final normed hidden states, and
        // the last rank's columns of their logits, row after row (plan_pipeline_head).
        std::vector<float> hidden;
        std::vector<float> last_columns;
    };

    Status check_batch(std::span<const BatchToken> batch);
    void forward(std::span<const BatchToken> batch);
    void embed(std::span<const BatchToken> batch);
    void head(std::span<const BatchToken> batch, Lane& lane, size_t logits_row);
    void compute_head(const float* rows, size_t n_rows, float* logits);
    void leader_head(Lane& lane);
    size_t last_rank_head_begin() const { return head_rows_[head_rows_.size() - 2]; }
    void leader_sends(const SessionCommand& command);

    const model::Model& model_;
    const kernels::KernelTable& table_;
    ThreadPool& pool_;
    size_t n_ctx_;
    kernels::KvType kv_type_;
    ModelSplit* split_;
    uint64_t id_ = 0;   // the leader's number for this session in a split job
    std::unique_ptr<LayerStack> layers_;
    std::vector<size_t> n_past_;      // per slot
    std::vector<size_t> row_slot_;    // per row of the current forward step
    std::vector<size_t> row_pos_;
    std::vector<BatchToken> batch_;   // evaluate()'s tokens as a batch
    std::vector<size_t> added_per_slot_;   // evaluate_batch()'s room check
    std::deque<Lane> lanes_;   // a deque: adding a lane moves none whose receive is in flight
    std::vector<size_t> head_rows_;   // pipeline: each rank's rows of the head (plan_pipeline_head)
    // kMaxBatchTokens rows of model_.hidden_width() floats: the hidden states, their final norm.
    AlignedBuffer<float> x_, h_;
    AlignedBuffer<std::byte> head_q8_;   // Q8_0 copy of the final hidden states (Q8_0 head only)
};

}  // namespace tern::engine

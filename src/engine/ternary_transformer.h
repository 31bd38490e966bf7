// The real-valued ternary transformer (BitNet b1.58, ternary Llama): int8 activations times
// ternary projections, RMSNorm, rotary attention, gated FFN, optional sub-norms. Split by rows
// (model_split.h), a rank computes its rows of every projection and its KV heads'
// attention, and the ranks exchange outputs wherever the next step needs the whole vector.
// Split by layers, a rank runs its layers on the hidden state the rank before it sends.
#pragma once

#include "engine/attention_step.h"
#include "engine/layer_stack.h"
#include "engine/model_split.h"
#include "quant/int8_activations.h"

namespace tern::engine {

class TernaryTransformerStack final : public LayerStack {
public:
    TernaryTransformerStack(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                            size_t n_ctx, size_t n_slots, kernels::KvType kv_type, size_t max_rows,
                            ModelSplit* split = nullptr);

    void forward(float* x, const StepRows& rows) override;
    void final_norm(const float* in, float* out) const override;
    size_t memory_bytes() const override { return attention_.cache().bytes(); }

private:
    void attention_block(size_t layer, float* x, const StepRows& rows);
    void ffn_block(size_t layer, float* x, size_t n);
    void gated_ffn_activation(size_t n);                     // gate = act(gate) * up, whole rows
    void split_gated_ffn(const model::LayerWeights& w, size_t n);
    void quantize(const float* x, size_t n, size_t cols);   // rows of `cols` floats
    void add_residual(float* x, size_t n);                   // x += proj over n rows
    void norm_rows(const float* in, size_t in_stride, const std::vector<float>& w, size_t n_rows, size_t n, float* out);
    // One kind of output's bounds in the row shares (q_rows, embd_rows, ...).
    using Shares = model::RowShares;
    using Bounds = std::vector<size_t> Shares::*;
    // This rank's first column of that output (0 when not split by rows).
    size_t share_begin(Bounds bounds) const { return rows_ != nullptr ? rows_->begin(rows_->shares.*bounds) : 0; }
    // Completes n rows of `stride` floats of which this rank computed its columns (no-op alone).
    void gather(float* rows, size_t n, size_t stride, Bounds bounds);

    const model::Model& model_;
    const kernels::KernelTable& table_;
    ThreadPool& pool_;
    ModelSplit* rows_;       // split by rows, else null
    ModelSplit* pipeline_;   // split by layers, else null
    size_t layer_begin_, layer_end_;   // the layers this rank runs
    AttentionStep attention_;   // this rank's KV heads of its layers (all of them when not split)
    AlignedBuffer<float> h_, q_, k_, v_, att_, proj_, gate_, up_;   // max_rows rows each
    AlignedBuffer<float> att_share_;   // split: this rank's heads' attention output
    quant::Int8Activations acts_;
};

}  // namespace tern::engine

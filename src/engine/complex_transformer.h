// iFairy (Fairy+-i): a transformer whose activations are complex ([re | im] rows) and whose
// projections are y = W conj(x) with W in {+1, -1, +i, -i} times a per-axis scale
// (complex-and-recurrent.md §2.3-2.4). Per layer: complex RMSNorm, q/k/v, rotary embedding of
// every complex dimension, attention over [re | im] heads (scale 1 / sqrt(2D), what the
// flash-attention path the model was trained with uses), attention sub-norm, o; complex RMSNorm,
// gate/up, complex ReLU^2 and conj(gate) (.) up, FFN sub-norm, down.
#pragma once

#include "engine/attention_step.h"
#include "engine/layer_stack.h"
#include "quant/int8_activations.h"

namespace tern::engine {

class ComplexTransformerStack final : public LayerStack {
public:
    ComplexTransformerStack(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                            size_t n_ctx, size_t n_slots, kernels::KvType kv_type, size_t max_rows);

    void forward(float* x, const StepRows& rows) override;
    void final_norm(const float* in, float* out) const override;
    size_t memory_bytes() const override { return attention_.cache().bytes(); }

private:
    void attention_block(size_t layer, float* x, const StepRows& rows);
    void ffn_block(size_t layer, float* x, size_t n);
    // n rows of `cols` complex values ([re | im]) to int8, re and im with scales of their own.
    void quantize(const float* x, size_t n, size_t cols);
    void add_residual(float* x, size_t n);
    // Complex RMSNorm of n rows of `cols` complex values, in -> out (may alias).
    void norm_rows(const float* in, const std::vector<float>& w, size_t n, size_t cols, float* out);

    const model::Model& model_;
    const kernels::KernelTable& table_;
    ThreadPool& pool_;
    AttentionStep attention_;
    // max_rows rows each; q/k/v/att as projected ([re | im]) and in head layout (*_heads_).
    AlignedBuffer<float> h_, q_, k_, v_, q_heads_, k_heads_, v_heads_, att_heads_, att_, proj_, gate_, up_;
    quant::Int8Activations acts_;
};

}  // namespace tern::engine

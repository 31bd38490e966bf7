// The real-valued ternary transformer (BitNet b1.58, ternary Llama): int8 activations times
// ternary projections, RMSNorm, rotary attention, gated FFN, optional sub-norms.
#pragma once

#include "engine/attention_step.h"
#include "engine/layer_stack.h"
#include "quant/int8_activations.h"

namespace tern::engine {

class TernaryTransformerStack final : public LayerStack {
public:
    TernaryTransformerStack(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                            size_t n_ctx, size_t n_slots, kernels::KvType kv_type, size_t max_rows);

    void forward(float* x, const StepRows& rows) override;
    void final_norm(const float* in, float* out) const override;
    size_t memory_bytes() const override { return attention_.cache().bytes(); }

private:
    void attention_block(size_t layer, float* x, const StepRows& rows);
    void ffn_block(size_t layer, float* x, size_t n);
    void quantize(const float* x, size_t n, size_t cols);   // rows of `cols` floats
    void add_residual(float* x, size_t n);                   // x += proj over n rows
    void norm_rows(const float* in, size_t in_stride, const std::vector<float>& w, size_t n_rows, size_t n, float* out);

    const model::Model& model_;
    const kernels::KernelTable& table_;
    ThreadPool& pool_;
    AttentionStep attention_;
    AlignedBuffer<float> h_, q_, k_, v_, att_, proj_, gate_, up_;   // max_rows rows each
    quant::Int8Activations acts_;
};

}  // namespace tern::engine

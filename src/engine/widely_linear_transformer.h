// Fairy2i: the LLaMA graph on real activations (RMSNorm, rotary attention, SiLU-gated FFN)
// with every linear layer, the LM head included, widely-linear: y = U x + W conj(x) over the
// [first half | second half] of x read as complex (complex-and-recurrent.md §1.2-1.4). The
// projections see int8 activations (exact sums) or, as the reference does, float ones
// (model.float_activations).
#pragma once

#include "engine/attention_step.h"
#include "engine/layer_stack.h"
#include "quant/int8_activations.h"

namespace tern::engine {

class WidelyLinearTransformerStack final : public LayerStack {
public:
    WidelyLinearTransformerStack(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                                 size_t n_ctx, size_t n_slots, kernels::KvType kv_type, size_t max_rows);

    void forward(float* x, const StepRows& rows) override;
    void final_norm(const float* in, float* out) const override;
    size_t memory_bytes() const override { return attention_.cache().bytes(); }
    bool head(const float* rows, size_t n, float* logits, size_t stride) override;

private:
    void attention_block(size_t layer, float* x, const StepRows& rows);
    void ffn_block(size_t layer, float* x, size_t n);
    // Makes n rows of `in_cols` floats ready for projections reading them (int8 or as they are).
    void prepare(const float* x, size_t n, size_t in_cols);
    // out rows of 2 * w.rows floats ([Re | Im]) from the rows prepare() saw.
    void project(const quant::PackedWidelyLinear& w, size_t n, float* out, size_t out_stride);
    void add_residual(float* x, size_t n);
    void norm_rows(const float* in, const std::vector<float>& w, size_t n, size_t cols, float* out);

    const model::Model& model_;
    const kernels::KernelTable& table_;
    ThreadPool& pool_;
    AttentionStep attention_;
    AlignedBuffer<float> h_, q_, k_, v_, att_, proj_, gate_, up_;   // max_rows rows each
    quant::Int8Activations acts_;
    const float* prepared_ = nullptr;   // the float rows prepare() saw
    size_t prepared_cols_ = 0;
};

}  // namespace tern::engine

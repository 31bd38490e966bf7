// HGRN-Bit, the MatMul-free LM (complex-and-recurrent.md §3): a gated elementwise recurrence
// instead of attention, a SwiGLU FFN, and every projection (the head too) a BitLinear: RMSNorm
// with its own weights (eps 1e-8), per-token int8 activations, absmean ternary weights, through
// the ternary kernels. Per layer and sequence the memory is one state of n_embd floats, so a
// token costs the same at any position and nothing grows with the context.
//
//   a = RMSNorm(x); i, f, g = BitLinear_{i,f,g}(a); f = sigmoid(f), raised to lb + (1 - lb) f
//   above layer 0; h = f h + silu(i) (1 - f); x += BitLinear_o(RMSNorm(g) silu(h));
//   x += BitLinear_down(silu(gate) up) with [gate | up] = BitLinear_gate(RMSNorm(x)).
#pragma once

#include <vector>

#include "engine/layer_stack.h"
#include "quant/int8_activations.h"

namespace tern::engine {

// The forget gates' lower bounds per layer from the model's raw [n_layer][width] table:
// softmax over the layers, cumulative sum, minus layer 0's share (so layer 0's bound is 0).
std::vector<float> forget_lower_bounds(const std::vector<float>& raw, size_t n_layer, size_t width);

class GatedRecurrentStack final : public LayerStack {
public:
    GatedRecurrentStack(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool, size_t n_slots,
                        size_t max_rows);

    void forward(float* x, const StepRows& rows) override;
    void final_norm(const float* in, float* out) const override;
    size_t memory_bytes() const override { return state_.size_bytes(); }
    bool head(const float* rows, size_t n, float* logits, size_t stride) override;
    bool rewindable() const override { return false; }

private:
    void mixer_block(size_t layer, float* x, const StepRows& rows);
    void ffn_block(size_t layer, float* x, size_t n);
    // The gates of n rows: f_ becomes the forget gate, i_ the recurrence's input silu(i) (1 - f).
    void gates(size_t layer, size_t n);
    // h = f h + c along the rows, in order, each row's slot's state; i_ becomes the states.
    void scan(size_t layer, const StepRows& rows);
    // out rows (out_stride apart) = w times the int8 form of RMSNorm(in rows, in_norm).
    void bitlinear(const quant::PackedTernary& w, const std::vector<float>& in_norm, const float* in, size_t in_stride,
                   size_t n, float* out, size_t out_stride);
    void norm_into_a(const float* x, const std::vector<float>& w, size_t n);   // a_ = RMSNorm of n rows of x
    void add_residual(float* x, size_t n);
    float* state(size_t slot, size_t layer) { return state_.data() + (slot * model_.hp.n_layer + layer) * model_.hp.n_embd; }

    const model::Model& model_;
    const kernels::KernelTable& table_;
    ThreadPool& pool_;
    std::vector<float> lower_bounds_;   // [n_layer][n_embd], empty without bounds
    AlignedBuffer<float> state_;        // [slot][layer][n_embd]
    std::vector<size_t> state_positions_;   // per slot: positions its state has absorbed
    AlignedBuffer<float> a_, i_, f_, g_, proj_, gate_up_, normed_;   // max_rows rows each
    quant::Int8Activations acts_;
};

}  // namespace tern::engine

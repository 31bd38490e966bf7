#include "engine/gated_recurrent.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "engine/layer_ops.h"
#include "kernels/matmul_driver.h"

namespace tern::engine {
namespace {

// BitLinear's own RMSNorm (the reference's eps, not the config's rms_norm_eps).
constexpr float kBitLinearNormEps = 1e-8f;

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
float silu(float v) { return v / (1.0f + std::exp(-v)); }

}  // namespace

std::vector<float> forget_lower_bounds(const std::vector<float>& raw, size_t n_layer, size_t width) {
    TERN_CHECK(raw.size() == n_layer * width);
    std::vector<float> bounds(raw.size());
    std::vector<float> share(n_layer);
    for (size_t c = 0; c < width; ++c) {
        float max = raw[c];
        for (size_t l = 1; l < n_layer; ++l) max = std::max(max, raw[l * width + c]);
        double sum = 0.0;
        for (size_t l = 0; l < n_layer; ++l) {
            share[l] = std::exp(raw[l * width + c] - max);
            sum += share[l];
        }
        double cumulative = 0.0;
        for (size_t l = 0; l < n_layer; ++l) {
            share[l] = static_cast<float>(share[l] / sum);
            cumulative += share[l];
            bounds[l * width + c] = static_cast<float>(cumulative) - share[0];
        }
    }
    return bounds;
}

GatedRecurrentStack::GatedRecurrentStack(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                                         size_t n_slots, size_t max_rows)
    : model_(model),
      table_(table),
      pool_(pool),
      state_(n_slots * model.hp.n_layer * model.hp.n_embd),
      state_positions_(n_slots, 0) {
    const model::Hparams& hp = model.hp;
    if (!model.lower_bounds.empty()) lower_bounds_ = forget_lower_bounds(model.lower_bounds, hp.n_layer, hp.n_embd);
    const size_t b = max_rows;
    a_ = AlignedBuffer<float>(b * hp.n_embd);
    i_ = AlignedBuffer<float>(b * hp.n_embd);
    f_ = AlignedBuffer<float>(b * hp.n_embd);
    g_ = AlignedBuffer<float>(b * hp.n_embd);
    proj_ = AlignedBuffer<float>(b * hp.n_embd);
    gate_up_ = AlignedBuffer<float>(b * 2 * hp.n_ff);
    normed_ = AlignedBuffer<float>(b * std::max(hp.n_embd, hp.n_ff));
}

void GatedRecurrentStack::forward(float* x, const StepRows& rows) {
    // A state holds every position before it: a row continues its slot or starts it afresh.
    for (size_t t = 0; t < rows.n; ++t) {
        size_t& absorbed = state_positions_[rows.slot[t]];
        TERN_CHECK(rows.pos[t] == 0 || rows.pos[t] == absorbed);
        absorbed = rows.pos[t] + 1;
    }
    for (size_t layer = 0; layer < model_.hp.n_layer; ++layer) {
        mixer_block(layer, x, rows);
        ffn_block(layer, x, rows.n);
    }
}

void GatedRecurrentStack::final_norm(const float* in, float* out) const {
    rms_norm(in, model_.output_norm.data(), model_.hp.n_embd, model_.hp.norm_eps, out);
}

bool GatedRecurrentStack::head(const float* rows, size_t n, float* logits, size_t stride) {
    bitlinear(model_.output_ternary, model_.output_in_norm, rows, model_.hp.n_embd, n, logits, stride);
    return true;
}

void GatedRecurrentStack::bitlinear(const quant::PackedTernary& w, const std::vector<float>& in_norm, const float* in,
                                    size_t in_stride, size_t n, float* out, size_t out_stride) {
    const size_t cols = w.cols;
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t)
            rms_norm(in + t * in_stride, in_norm.data(), cols, kBitLinearNormEps, normed_.data() + t * cols);
    });
    quant::reshape_activations(acts_, n, cols, quant::layout_chunk_cols(table_.ternary_layout));
    for_rows(pool_, n, [&](size_t begin, size_t end) { table_.quantize_activations(normed_.data(), cols, acts_, begin, end); });
    kernels::ternary_matmul(table_, pool_, w, acts_, out, out_stride);
}

void GatedRecurrentStack::norm_into_a(const float* x, const std::vector<float>& w, size_t n) {
    const size_t width = model_.hp.n_embd;
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) rms_norm(x + t * width, w.data(), width, model_.hp.norm_eps, a_.data() + t * width);
    });
}

void GatedRecurrentStack::add_residual(float* x, size_t n) {
    const size_t n_embd = model_.hp.n_embd;
    for (size_t i = 0; i < n * n_embd; ++i) x[i] += proj_.data()[i];
}

void GatedRecurrentStack::gates(size_t layer, size_t n) {
    const size_t width = model_.hp.n_embd;
    const float* bound = lower_bounds_.empty() || layer == 0 ? nullptr : lower_bounds_.data() + layer * width;
    for (size_t t = 0; t < n; ++t) {
        float* in = i_.data() + t * width;
        float* forget = f_.data() + t * width;
        for (size_t c = 0; c < width; ++c) {
            float f = sigmoid(forget[c]);
            if (bound != nullptr) f = bound[c] + (1.0f - bound[c]) * f;
            forget[c] = f;
            in[c] = silu(in[c]) * (1.0f - f);
        }
    }
}

void GatedRecurrentStack::scan(size_t layer, const StepRows& rows) {
    const size_t width = model_.hp.n_embd;
    for (size_t t = 0; t < rows.n; ++t) {
        float* h = state(rows.slot[t], layer);
        if (rows.pos[t] == 0) std::fill(h, h + width, 0.0f);
        const float* forget = f_.data() + t * width;
        float* in = i_.data() + t * width;
        for (size_t c = 0; c < width; ++c) {
            h[c] = forget[c] * h[c] + in[c];
            in[c] = h[c];
        }
    }
}

void GatedRecurrentStack::mixer_block(size_t layer, float* x, const StepRows& rows) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    const model::RecurrentWeights& r = w.recurrent;
    const size_t n = rows.n, width = hp.n_embd;
    norm_into_a(x, w.attn_norm, n);
    bitlinear(r.input, r.input_in_norm, a_.data(), width, n, i_.data(), width);
    bitlinear(r.forget, r.forget_in_norm, a_.data(), width, n, f_.data(), width);
    bitlinear(r.gate, r.gate_in_norm, a_.data(), width, n, g_.data(), width);
    gates(layer, n);
    scan(layer, rows);
    // The output gate: RMSNorm(g) times silu(h), as the released FusedRMSNormSwishGate computes it.
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) {
            float* g = g_.data() + t * width;
            const float* h = i_.data() + t * width;
            rms_norm(g, r.gate_norm.data(), width, hp.norm_eps, g);
            for (size_t c = 0; c < width; ++c) g[c] *= silu(h[c]);
        }
    });
    bitlinear(r.output, r.output_in_norm, g_.data(), width, n, proj_.data(), width);
    add_residual(x, n);
}

void GatedRecurrentStack::ffn_block(size_t layer, float* x, size_t n) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    const model::RecurrentWeights& r = w.recurrent;
    const size_t width = hp.n_embd, ff = hp.n_ff;
    norm_into_a(x, w.ffn_norm, n);
    bitlinear(r.gate_up, r.gate_up_in_norm, a_.data(), width, n, gate_up_.data(), 2 * ff);
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) {
            float* row = gate_up_.data() + t * 2 * ff;
            gated_activation(row, row + ff, ff, model::FfnActivation::kSilu);
        }
    });
    bitlinear(w.down, r.down_in_norm, gate_up_.data(), 2 * ff, n, proj_.data(), width);
    add_residual(x, n);
}

}  // namespace tern::engine

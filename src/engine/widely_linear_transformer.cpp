#include "engine/widely_linear_transformer.h"

#include <algorithm>

#include "engine/layer_ops.h"
#include "kernels/matmul_driver.h"

namespace tern::engine {

WidelyLinearTransformerStack::WidelyLinearTransformerStack(const model::Model& model, const kernels::KernelTable& table,
                                                           ThreadPool& pool, size_t n_ctx, size_t n_slots,
                                                           kernels::KvType kv_type, size_t max_rows)
    : model_(model),
      table_(table),
      pool_(pool),
      attention_(table, pool, n_slots, model.hp.n_layer, n_ctx, model.hp.n_head, model.hp.n_head_kv,
                 model.hp.head_dim, model.hp.rope_theta, kv_type, max_rows) {
    const model::Hparams& hp = model.hp;
    const size_t b = max_rows;
    h_ = AlignedBuffer<float>(b * std::max(hp.n_embd, hp.q_dim()));
    q_ = AlignedBuffer<float>(b * hp.q_dim());
    k_ = AlignedBuffer<float>(b * hp.kv_dim());
    v_ = AlignedBuffer<float>(b * hp.kv_dim());
    att_ = AlignedBuffer<float>(b * hp.q_dim());
    proj_ = AlignedBuffer<float>(b * hp.n_embd);
    gate_ = AlignedBuffer<float>(b * hp.n_ff);
    up_ = AlignedBuffer<float>(b * hp.n_ff);
}

void WidelyLinearTransformerStack::forward(float* x, const StepRows& rows) {
    attention_.set_positions(rows);
    for (size_t layer = 0; layer < model_.hp.n_layer; ++layer) {
        attention_block(layer, x, rows);
        ffn_block(layer, x, rows.n);
    }
}

void WidelyLinearTransformerStack::final_norm(const float* in, float* out) const {
    rms_norm(in, model_.output_norm.data(), model_.hp.n_embd, model_.hp.norm_eps, out);
}

bool WidelyLinearTransformerStack::head(const float* rows, size_t n, float* logits, size_t stride) {
    const quant::PackedWidelyLinear& w = model_.output_widely_linear;
    prepare(rows, n, model_.hp.n_embd);
    project(w, n, logits, stride);
    return true;
}

void WidelyLinearTransformerStack::norm_rows(const float* in, const std::vector<float>& w, size_t n, size_t cols,
                                             float* out) {
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) rms_norm(in + t * cols, w.data(), cols, model_.hp.norm_eps, out + t * cols);
    });
}

void WidelyLinearTransformerStack::add_residual(float* x, size_t n) {
    const size_t n_embd = model_.hp.n_embd;
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t i = begin * n_embd; i < end * n_embd; ++i) x[i] += proj_.data()[i];
    });
}

void WidelyLinearTransformerStack::prepare(const float* x, size_t n, size_t in_cols) {
    prepared_ = x;
    prepared_cols_ = in_cols;
    if (model_.float_activations) return;
    // A row [x_re | x_im] is two consecutive rows of in_cols / 2: token t's halves are rows 2t, 2t + 1.
    const size_t half = in_cols / 2;
    quant::reshape_activations(acts_, 2 * n, half, quant::kChunkCols);
    for_rows(pool_, n, [&](size_t begin, size_t end) { table_.quantize_activations(x, half, acts_, 2 * begin, 2 * end); });
}

void WidelyLinearTransformerStack::project(const quant::PackedWidelyLinear& w, size_t n, float* out, size_t out_stride) {
    if (model_.float_activations)
        kernels::widely_linear_float(table_, pool_, w, prepared_, prepared_cols_, n, out, out_stride, w.rows);
    else
        kernels::widely_linear_int8(table_, pool_, w, acts_, out, out_stride, w.rows);
}

void WidelyLinearTransformerStack::attention_block(size_t layer, float* x, const StepRows& rows) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    const model::WidelyLinearProjections& p = w.widely_linear;
    const size_t n = rows.n;
    norm_rows(x, w.attn_norm, n, hp.n_embd, h_.data());
    prepare(h_.data(), n, hp.n_embd);   // shared by q, k and v
    project(p.q, n, q_.data(), hp.q_dim());
    project(p.k, n, k_.data(), hp.kv_dim());
    project(p.v, n, v_.data(), hp.kv_dim());
    attention_.run(layer, rows, q_.data(), k_.data(), v_.data(), model_.rope, att_.data());
    prepare(att_.data(), n, hp.q_dim());
    project(p.o, n, proj_.data(), hp.n_embd);
    add_residual(x, n);
}

void WidelyLinearTransformerStack::ffn_block(size_t layer, float* x, size_t n) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    const model::WidelyLinearProjections& p = w.widely_linear;
    norm_rows(x, w.ffn_norm, n, hp.n_embd, h_.data());
    prepare(h_.data(), n, hp.n_embd);   // shared by gate and up
    project(p.gate, n, gate_.data(), hp.n_ff);
    project(p.up, n, up_.data(), hp.n_ff);
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        gated_activation(gate_.data() + begin * hp.n_ff, up_.data() + begin * hp.n_ff, (end - begin) * hp.n_ff,
                         model_.arch->ffn_activation);
    });
    prepare(gate_.data(), n, hp.n_ff);
    project(p.down, n, proj_.data(), hp.n_embd);
    add_residual(x, n);
}

}  // namespace tern::engine

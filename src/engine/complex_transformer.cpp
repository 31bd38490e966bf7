#include "engine/complex_transformer.h"

#include <algorithm>

#include "engine/complex_ops.h"
#include "kernels/matmul_driver.h"

namespace tern::engine {

ComplexTransformerStack::ComplexTransformerStack(const model::Model& model, const kernels::KernelTable& table,
                                                 ThreadPool& pool, size_t n_ctx, size_t n_slots,
                                                 kernels::KvType kv_type, size_t max_rows)
    : model_(model),
      table_(table),
      pool_(pool),
      attention_(table, pool, n_slots, model.hp.n_layer, n_ctx, model.hp.n_head, model.hp.n_head_kv,
                 2 * model.hp.head_dim, model.hp.rope_theta, kv_type, max_rows) {
    const model::Hparams& hp = model.hp;
    const size_t b = max_rows;
    h_ = AlignedBuffer<float>(b * 2 * std::max(hp.n_embd, hp.q_dim()));
    for (AlignedBuffer<float>* buf : {&q_, &q_heads_, &att_heads_, &att_}) *buf = AlignedBuffer<float>(b * 2 * hp.q_dim());
    for (AlignedBuffer<float>* buf : {&k_, &v_, &k_heads_, &v_heads_}) *buf = AlignedBuffer<float>(b * 2 * hp.kv_dim());
    proj_ = AlignedBuffer<float>(b * 2 * hp.n_embd);
    gate_ = AlignedBuffer<float>(b * 2 * hp.n_ff);
    up_ = AlignedBuffer<float>(b * 2 * hp.n_ff);
}

void ComplexTransformerStack::forward(float* x, const StepRows& rows) {
    attention_.set_positions(rows);
    for (size_t layer = 0; layer < model_.hp.n_layer; ++layer) {
        attention_block(layer, x, rows);
        ffn_block(layer, x, rows.n);
    }
}

void ComplexTransformerStack::final_norm(const float* in, float* out) const {
    complex_rms_norm(in, model_.output_norm.data(), model_.hp.n_embd, model_.hp.norm_eps, out);
}

void ComplexTransformerStack::norm_rows(const float* in, const std::vector<float>& w, size_t n, size_t cols,
                                        float* out) {
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t)
            complex_rms_norm(in + t * 2 * cols, w.data(), cols, model_.hp.norm_eps, out + t * 2 * cols);
    });
}

void ComplexTransformerStack::quantize(const float* x, size_t n, size_t cols) {
    // [re | im] rows are two consecutive rows of `cols` floats: token t's parts are rows 2t, 2t + 1.
    quant::reshape_activations(acts_, 2 * n, cols, quant::kChunkCols);
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        table_.quantize_activations(x, cols, acts_, 2 * begin, 2 * end);
    });
}

void ComplexTransformerStack::add_residual(float* x, size_t n) {
    const size_t width = 2 * model_.hp.n_embd;
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t i = begin * width; i < end * width; ++i) x[i] += proj_.data()[i];
    });
}

void ComplexTransformerStack::attention_block(size_t layer, float* x, const StepRows& rows) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    const model::ComplexProjections& p = w.complex;
    const size_t n = rows.n, q_dim = hp.q_dim(), kv_dim = hp.kv_dim();
    norm_rows(x, w.attn_norm, n, hp.n_embd, h_.data());
    quantize(h_.data(), n, hp.n_embd);   // shared by q, k and v
    const kernels::ComplexProduct qkv[] = {{&p.q, q_.data(), 2 * q_dim, q_dim},
                                           {&p.k, k_.data(), 2 * kv_dim, kv_dim},
                                           {&p.v, v_.data(), 2 * kv_dim, kv_dim}};
    kernels::complex_matmuls(table_, pool_, qkv, acts_);
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) {
            complex_to_heads(q_.data() + t * 2 * q_dim, hp.n_head, hp.head_dim, q_heads_.data() + t * 2 * q_dim);
            complex_to_heads(k_.data() + t * 2 * kv_dim, hp.n_head_kv, hp.head_dim, k_heads_.data() + t * 2 * kv_dim);
            complex_to_heads(v_.data() + t * 2 * kv_dim, hp.n_head_kv, hp.head_dim, v_heads_.data() + t * 2 * kv_dim);
        }
    });
    attention_.run(layer, rows, q_heads_.data(), k_heads_.data(), v_heads_.data(), model::RopePairing::kNeox,
                   att_heads_.data());
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t)
            complex_from_heads(att_heads_.data() + t * 2 * q_dim, hp.n_head, hp.head_dim, att_.data() + t * 2 * q_dim);
    });
    norm_rows(att_.data(), w.attn_sub_norm, n, q_dim, att_.data());
    quantize(att_.data(), n, q_dim);
    const kernels::ComplexProduct o[] = {{&p.o, proj_.data(), 2 * hp.n_embd, hp.n_embd}};
    kernels::complex_matmuls(table_, pool_, o, acts_);
    add_residual(x, n);
}

void ComplexTransformerStack::ffn_block(size_t layer, float* x, size_t n) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    const model::ComplexProjections& p = w.complex;
    const size_t ff = hp.n_ff;
    norm_rows(x, w.ffn_norm, n, hp.n_embd, h_.data());
    quantize(h_.data(), n, hp.n_embd);   // shared by gate and up
    const kernels::ComplexProduct gate_up[] = {{&p.gate, gate_.data(), 2 * ff, ff}, {&p.up, up_.data(), 2 * ff, ff}};
    kernels::complex_matmuls(table_, pool_, gate_up, acts_);
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) complex_relu2_gate(gate_.data() + t * 2 * ff, up_.data() + t * 2 * ff, ff);
    });
    norm_rows(gate_.data(), w.ffn_sub_norm, n, ff, gate_.data());
    quantize(gate_.data(), n, ff);
    const kernels::ComplexProduct down[] = {{&p.down, proj_.data(), 2 * hp.n_embd, hp.n_embd}};
    kernels::complex_matmuls(table_, pool_, down, acts_);
    add_residual(x, n);
}

}  // namespace tern::engine

#include "engine/ternary_transformer.h"

#include <algorithm>

#include "engine/layer_ops.h"
#include "kernels/matmul_driver.h"

namespace tern::engine {
namespace {

size_t kv_heads_of_rank(const model::Hparams& hp, const ModelSplit* split) {
    if (split == nullptr || !split->by_rows()) return hp.n_head_kv;
    return split->end(split->shares.kv_heads) - split->begin(split->shares.kv_heads);
}

size_t first_layer_of_rank(const ModelSplit* split) {
    return split != nullptr && !split->by_rows() ? split->begin(split->layers) : 0;
}

size_t end_layer_of_rank(const model::Hparams& hp, const ModelSplit* split) {
    return split != nullptr && !split->by_rows() ? split->end(split->layers) : hp.n_layer;
}

}  // namespace

TernaryTransformerStack::TernaryTransformerStack(const model::Model& model, const kernels::KernelTable& table,
                                                 ThreadPool& pool, size_t n_ctx, size_t n_slots,
                                                 kernels::KvType kv_type, size_t max_rows, ModelSplit* split)
    : model_(model),
      table_(table),
      pool_(pool),
      rows_(split != nullptr && split->by_rows() ? split : nullptr),
      pipeline_(split != nullptr && !split->by_rows() ? split : nullptr),
      layer_begin_(first_layer_of_rank(split)),
      layer_end_(end_layer_of_rank(model.hp, split)),
      attention_(table, pool, n_slots, layer_end_ - layer_begin_, n_ctx,
                 kv_heads_of_rank(model.hp, split) * (model.hp.n_head / model.hp.n_head_kv),
                 kv_heads_of_rank(model.hp, split), model.hp.head_dim, model.hp.rope_theta, kv_type, max_rows) {
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
    if (rows_ != nullptr) att_share_ = AlignedBuffer<float>(b * hp.q_dim());
}

void TernaryTransformerStack::gather(float* rows, size_t n, size_t stride, Bounds bounds) {
    if (rows_ != nullptr) rows_->comm->allgather_columns(rows, n, stride, rows_->shares.*bounds);
}

void TernaryTransformerStack::forward(float* x, const StepRows& rows) {
    const size_t floats = rows.n * model_.hp.n_embd;
    if (pipeline_ != nullptr && !pipeline_->leader()) pipeline_->comm->receive(pipeline_->rank() - 1, x, floats);
    attention_.set_positions(rows);
    for (size_t layer = layer_begin_; layer < layer_end_; ++layer) {
        attention_block(layer, x, rows);
        ffn_block(layer, x, rows.n);
    }
    if (pipeline_ != nullptr && !pipeline_->last()) pipeline_->comm->send(pipeline_->rank() + 1, x, floats);
}

void TernaryTransformerStack::final_norm(const float* in, float* out) const {
    rms_norm(in, model_.output_norm.data(), model_.hp.n_embd, model_.hp.norm_eps, out);
}

void TernaryTransformerStack::norm_rows(const float* in, size_t in_stride, const std::vector<float>& w, size_t n_rows,
                                        size_t n, float* out) {
    for_rows(pool_, n_rows, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) rms_norm(in + t * in_stride, w.data(), n, model_.hp.norm_eps, out + t * n);
    });
}

void TernaryTransformerStack::add_residual(float* x, size_t n) {
    const size_t n_embd = model_.hp.n_embd;
    for_rows(pool_, n, [&](size_t begin, size_t end) {
        for (size_t i = begin * n_embd; i < end * n_embd; ++i) x[i] += proj_.data()[i];
    });
}

void TernaryTransformerStack::quantize(const float* x, size_t n, size_t cols) {
    quant::reshape_activations(acts_, n, cols, quant::layout_chunk_cols(table_.ternary_layout));
    for_rows(pool_, n, [&](size_t begin, size_t end) { table_.quantize_activations(x, cols, acts_, begin, end); });
}

void TernaryTransformerStack::attention_block(size_t layer, float* x, const StepRows& rows) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    const size_t n = rows.n;
    norm_rows(x, hp.n_embd, w.attn_norm, n, hp.n_embd, h_.data());
    quantize(h_.data(), n, hp.n_embd);   // shared by q, k and v
    // Split, w.q, w.k and w.v hold this rank's heads only: q, k, v and the attention stay local.
    const kernels::TernaryProduct qkv[] = {{&w.q, q_.data(), w.q.rows}, {&w.k, k_.data(), w.k.rows},
                                           {&w.v, v_.data(), w.v.rows}};
    kernels::ternary_matmuls(table_, pool_, qkv, acts_);
    const size_t cache_layer = layer - layer_begin_;
    if (rows_ == nullptr) {
        attention_.run(cache_layer, rows, q_.data(), k_.data(), v_.data(), model_.rope, att_.data());
    } else {
        attention_.run(cache_layer, rows, q_.data(), k_.data(), v_.data(), model_.rope, att_share_.data());
        const size_t begin = share_begin(&Shares::q_rows), width = w.q.rows;
        for (size_t t = 0; t < n; ++t)
            std::copy_n(att_share_.data() + t * width, width, att_.data() + t * hp.q_dim() + begin);
        gather(att_.data(), n, hp.q_dim(), &Shares::q_rows);
    }
    if (model_.arch->sub_norms) norm_rows(att_.data(), hp.q_dim(), w.attn_sub_norm, n, hp.q_dim(), att_.data());
    quantize(att_.data(), n, hp.q_dim());
    kernels::ternary_matmul(table_, pool_, w.o, acts_, proj_.data() + share_begin(&Shares::embd_rows), hp.n_embd);
    gather(proj_.data(), n, hp.n_embd, &Shares::embd_rows);
    add_residual(x, n);
}

void TernaryTransformerStack::ffn_block(size_t layer, float* x, size_t n) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    norm_rows(x, hp.n_embd, w.ffn_norm, n, hp.n_embd, h_.data());
    quantize(h_.data(), n, hp.n_embd);   // shared by gate and up
    if (rows_ != nullptr) {
        split_gated_ffn(w, n);
    } else {
        const kernels::TernaryProduct gate_up[] = {{&w.gate, gate_.data(), w.gate.rows}, {&w.up, up_.data(), w.up.rows}};
        kernels::ternary_matmuls(table_, pool_, gate_up, acts_);
        gated_ffn_activation(n);
    }
    if (model_.arch->sub_norms) norm_rows(gate_.data(), hp.n_ff, w.ffn_sub_norm, n, hp.n_ff, gate_.data());
    quantize(gate_.data(), n, hp.n_ff);
    kernels::ternary_matmul(table_, pool_, w.down, acts_, proj_.data() + share_begin(&Shares::embd_rows), hp.n_embd);
    gather(proj_.data(), n, hp.n_embd, &Shares::embd_rows);
    add_residual(x, n);
}

void TernaryTransformerStack::gated_ffn_activation(size_t n) {
    const model::Hparams& hp = model_.hp;
    // Elementwise, so split over the pool when there is enough of it (a batched step).
    constexpr size_t kWorthThreads = 16384;
    if (n * hp.n_ff < kWorthThreads) {
        gated_activation(gate_.data(), up_.data(), n * hp.n_ff, model_.arch->ffn_activation);
    } else {
        pool_.parallel_for(n * hp.n_ff, 64, [&](size_t begin, size_t end) {
            gated_activation(gate_.data() + begin, up_.data() + begin, end - begin, model_.arch->ffn_activation);
        });
    }
}

// This rank's columns of gate and up, their activation (elementwise, so the same bits as one
// process), then every rank's columns for the down projection.
void TernaryTransformerStack::split_gated_ffn(const model::LayerWeights& w, size_t n) {
    const model::Hparams& hp = model_.hp;
    const size_t begin = share_begin(&Shares::ff_rows), width = w.gate.rows;
    const kernels::TernaryProduct gate_up[] = {{&w.gate, gate_.data() + begin, hp.n_ff},
                                               {&w.up, up_.data() + begin, hp.n_ff}};
    kernels::ternary_matmuls(table_, pool_, gate_up, acts_);
    for_rows(pool_, n, [&](size_t first, size_t last) {
        for (size_t t = first; t < last; ++t)
            gated_activation(gate_.data() + t * hp.n_ff + begin, up_.data() + t * hp.n_ff + begin, width,
                             model_.arch->ffn_activation);
    });
    gather(gate_.data(), n, hp.n_ff, &Shares::ff_rows);
}

}  // namespace tern::engine

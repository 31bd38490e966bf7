#include "engine/inference_session.h"

#include <algorithm>

#include "core/check.h"
#include "core/str_cat.h"
#include "engine/layer_ops.h"
#include "kernels/matmul_driver.h"
#include "quant/block_formats.h"
#include "quant/dequantize.h"

namespace tern::engine {

InferenceSession::InferenceSession(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                                   size_t n_ctx, size_t n_slots, kernels::KvType kv_type)
    : model_(model),
      table_(table),
      pool_(pool),
      cache_(std::max<size_t>(1, n_slots), model.hp.n_layer, n_ctx == 0 ? model.hp.n_ctx_train : n_ctx,
             model.hp.n_head_kv, model.hp.head_dim, kv_type),
      n_past_(cache_.n_slots, 0),
      row_slot_(kMaxBatchTokens),
      row_pos_(kMaxBatchTokens) {
    const model::Hparams& hp = model.hp;
    const size_t b = kMaxBatchTokens;
    x_ = AlignedBuffer<float>(b * hp.n_embd);
    h_ = AlignedBuffer<float>(b * std::max(hp.n_embd, hp.q_dim()));
    q_ = AlignedBuffer<float>(b * hp.q_dim());
    k_ = AlignedBuffer<float>(b * hp.kv_dim());
    v_ = AlignedBuffer<float>(b * hp.kv_dim());
    att_ = AlignedBuffer<float>(b * hp.q_dim());
    rope_cos_ = AlignedBuffer<float>(b * hp.head_dim / 2);
    rope_sin_ = AlignedBuffer<float>(b * hp.head_dim / 2);
    proj_ = AlignedBuffer<float>(b * hp.n_embd);
    gate_ = AlignedBuffer<float>(b * hp.n_ff);
    up_ = AlignedBuffer<float>(b * hp.n_ff);
    scores_ = AlignedBuffer<float>(static_cast<size_t>(pool.size()) * (hp.n_head / hp.n_head_kv) * cache_.n_ctx);
    if (model.q8_head())
        head_q8_ = AlignedBuffer<std::byte>(b * hp.n_embd / kernels::kQ8BlockElems * kernels::kQ8BlockBytes);
}

std::span<const float> InferenceSession::logits_row(size_t row) const {
    TERN_CHECK(row < logits_rows_);
    const size_t v = model_.hp.n_vocab;
    return {logits_.data() + row * v, v};
}

std::span<const float> InferenceSession::last_logits() const {
    TERN_CHECK(logits_rows_ > 0);
    return logits_row(logits_rows_ - 1);
}

void InferenceSession::truncate(size_t n, size_t slot) {
    TERN_CHECK(slot < n_past_.size() && n <= n_past_[slot]);
    n_past_[slot] = n;
}

Status InferenceSession::evaluate(std::span<const int32_t> tokens, bool all_logits) {
    batch_.resize(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i)
        batch_[i] = {.token = tokens[i], .slot = 0, .logits = all_logits || i + 1 == tokens.size()};
    return evaluate_batch(batch_);
}

Status InferenceSession::evaluate_batch(std::span<const BatchToken> batch) {
    if (batch.empty()) return Error("evaluate: no tokens given");
    std::vector<size_t>& added = added_per_slot_;
    added.assign(n_past_.size(), 0);
    size_t rows = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
        const BatchToken& b = batch[i];
        if (b.token < 0 || static_cast<size_t>(b.token) >= model_.hp.n_vocab)
            return Error(str_cat("token ", i, " has id ", b.token, ", outside the vocabulary [0, ", model_.hp.n_vocab,
                                 ")"));
        if (b.slot >= n_past_.size())
            return Error(str_cat("token ", i, " is for slot ", b.slot, " but the cache has ", n_past_.size(), " slots"));
        ++added[b.slot];
        rows += b.logits ? 1 : 0;
    }
    for (size_t slot = 0; slot < added.size(); ++slot)
        if (added[slot] > cache_.n_ctx - n_past_[slot])
            return Error(str_cat("context full: ", n_past_[slot], " tokens in the cache + ", added[slot],
                                 " new > n_ctx ", cache_.n_ctx));
    logits_rows_ = rows;
    logits_.resize(rows * model_.hp.n_vocab);
    size_t logits_row = 0;
    for (size_t begin = 0; begin < batch.size(); begin += kMaxBatchTokens) {
        const std::span<const BatchToken> step = batch.subspan(begin, std::min(kMaxBatchTokens, batch.size() - begin));
        forward(step);
        head(step, logits_row);
        for (const BatchToken& b : step) logits_row += b.logits ? 1 : 0;
    }
    return {};
}

void InferenceSession::forward(std::span<const BatchToken> batch) {
    for (size_t t = 0; t < batch.size(); ++t) {
        row_slot_[t] = batch[t].slot;
        row_pos_[t] = n_past_[batch[t].slot]++;
        const size_t half = model_.hp.head_dim / 2;
        rope_angles(row_pos_[t], model_.hp.head_dim, model_.hp.rope_theta, rope_cos_.data() + t * half,
                    rope_sin_.data() + t * half);
    }
    embed(batch);
    for (size_t layer = 0; layer < model_.hp.n_layer; ++layer) {
        attention_block(layer, batch.size());
        ffn_block(layer, batch.size());
    }
}

void InferenceSession::embed(std::span<const BatchToken> batch) {
    const model::FloatMatrix& e = model_.token_embd;
    for (size_t t = 0; t < batch.size(); ++t) {
        const Status s = quant::dequantize(e.type, {e.row(static_cast<size_t>(batch[t].token)), e.row_bytes},
                                           {x_.data() + t * e.cols, e.cols});
        TERN_CHECK(s.ok());   // the loader checked the type and the row size
    }
}

void InferenceSession::for_rows(size_t n_rows, const std::function<void(size_t begin, size_t end)>& fn) {
    // Decode (one row per sequence) is not worth waking the pool for: a few microseconds of work.
    constexpr size_t kRowsWorthThreads = 16;
    if (n_rows < kRowsWorthThreads)
        fn(0, n_rows);
    else
        pool_.parallel_for(n_rows, 1, fn);
}

void InferenceSession::norm_rows(const float* in, size_t in_stride, const std::vector<float>& w, size_t n_rows,
                                 size_t n, float* out) {
    for_rows(n_rows, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) rms_norm(in + t * in_stride, w.data(), n, model_.hp.norm_eps, out + t * n);
    });
}

void InferenceSession::add_residual(size_t n) {
    const size_t n_embd = model_.hp.n_embd;
    for_rows(n, [&](size_t begin, size_t end) {
        for (size_t i = begin * n_embd; i < end * n_embd; ++i) x_.data()[i] += proj_.data()[i];
    });
}

void InferenceSession::quantize(const float* x, size_t n, size_t cols) {
    quant::reshape_activations(acts_, n, cols, quant::layout_chunk_cols(table_.ternary_layout));
    for_rows(n, [&](size_t begin, size_t end) { table_.quantize_activations(x, cols, acts_, begin, end); });
}

void InferenceSession::matmul(const quant::PackedTernary& w, float* out) {
    kernels::ternary_matmul(table_, pool_, w, acts_, out, w.rows);
}

void InferenceSession::attention_block(size_t layer, size_t n) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    norm_rows(x_.data(), hp.n_embd, w.attn_norm, n, hp.n_embd, h_.data());
    quantize(h_.data(), n, hp.n_embd);   // shared by q, k and v
    const kernels::TernaryProduct qkv[] = {{&w.q, q_.data(), w.q.rows}, {&w.k, k_.data(), w.k.rows},
                                           {&w.v, v_.data(), w.v.rows}};
    kernels::ternary_matmuls(table_, pool_, qkv, acts_);
    // Tokens write distinct cache positions, so they can go to the pool together.
    for_rows(n, [&](size_t begin, size_t end) {
        for (size_t t = begin; t < end; ++t) {
            const float* cos = rope_cos_.data() + t * hp.head_dim / 2;
            const float* sin = rope_sin_.data() + t * hp.head_dim / 2;
            apply_rope(q_.data() + t * hp.q_dim(), hp.n_head, hp.head_dim, cos, sin, model_.rope);
            apply_rope(k_.data() + t * hp.kv_dim(), hp.n_head_kv, hp.head_dim, cos, sin, model_.rope);
            cache_.store(row_slot_[t], layer, row_pos_[t], k_.data() + t * hp.kv_dim(), v_.data() + t * hp.kv_dim());
        }
    });
    attention(layer, n);
    if (model_.arch->sub_norms) norm_rows(att_.data(), hp.q_dim(), w.attn_sub_norm, n, hp.q_dim(), att_.data());
    quantize(att_.data(), n, hp.q_dim());
    matmul(w.o, proj_.data());
    add_residual(n);
}

// Work items are (KV head, token): the query heads sharing a KV head go through the kernel
// together, so each cached key and value is read once per group. Later tokens of a prompt
// attend to more keys, so the items are handed out one by one rather than split evenly.
void InferenceSession::attention(size_t layer, size_t n) {
    const model::Hparams& hp = model_.hp;
    const size_t group = hp.n_head / hp.n_head_kv;
    pool_.parallel_for_dynamic(hp.n_head_kv * n, 1, [&](int thread_idx, size_t begin, size_t end) {
        float* scores = scores_.data() + static_cast<size_t>(thread_idx) * group * cache_.n_ctx;
        for (size_t item = begin; item < end; ++item) {
            const size_t t = item / hp.n_head_kv, kv_head = item % hp.n_head_kv, slot = row_slot_[t];
            const size_t first_head = kv_head * group;
            table_.attend({.q = q_.data() + t * hp.q_dim() + first_head * hp.head_dim,
                           .n_queries = group,
                           .keys = cache_.key_plane(slot, layer, kv_head),
                           .values = cache_.value_plane(slot, layer, kv_head),
                           .kv_type = cache_.type,
                           .value_stride = hp.head_dim,
                           .n_keys = row_pos_[t] + 1,
                           .head_dim = hp.head_dim,
                           .scores = scores,
                           .out = att_.data() + t * hp.q_dim() + first_head * hp.head_dim});
        }
    });
}

void InferenceSession::ffn_block(size_t layer, size_t n) {
    const model::Hparams& hp = model_.hp;
    const model::LayerWeights& w = model_.layers[layer];
    norm_rows(x_.data(), hp.n_embd, w.ffn_norm, n, hp.n_embd, h_.data());
    quantize(h_.data(), n, hp.n_embd);   // shared by gate and up
    const kernels::TernaryProduct gate_up[] = {{&w.gate, gate_.data(), w.gate.rows}, {&w.up, up_.data(), w.up.rows}};
    kernels::ternary_matmuls(table_, pool_, gate_up, acts_);
    // Elementwise, so split over the pool when there is enough of it (a batched step).
    constexpr size_t kWorthThreads = 16384;
    if (n * hp.n_ff < kWorthThreads) {
        gated_activation(gate_.data(), up_.data(), n * hp.n_ff, model_.arch->ffn_activation);
    } else {
        pool_.parallel_for(n * hp.n_ff, 64, [&](size_t begin, size_t end) {
            gated_activation(gate_.data() + begin, up_.data() + begin, end - begin, model_.arch->ffn_activation);
        });
    }
    if (model_.arch->sub_norms) norm_rows(gate_.data(), hp.n_ff, w.ffn_sub_norm, n, hp.n_ff, gate_.data());
    quantize(gate_.data(), n, hp.n_ff);
    matmul(w.down, proj_.data());
    add_residual(n);
}

// The final norm and the LM head for the rows of this step that asked for logits.
void InferenceSession::head(std::span<const BatchToken> batch, size_t logits_row) {
    const model::Hparams& hp = model_.hp;
    size_t n_rows = 0;
    for (size_t t = 0; t < batch.size(); ++t)
        if (batch[t].logits)
            rms_norm(x_.data() + t * hp.n_embd, model_.output_norm.data(), hp.n_embd, hp.norm_eps,
                     h_.data() + n_rows++ * hp.n_embd);
    if (n_rows == 0) return;
    if (model_.q8_head()) {
        const size_t blocks = hp.n_embd / kernels::kQ8BlockElems;
        for (size_t t = 0; t < n_rows; ++t)
            quant::quantize_row_q8_0(h_.data() + t * hp.n_embd, head_q8_.data() + t * blocks * kernels::kQ8BlockBytes,
                                     hp.n_embd);
        kernels::q8_matmul(table_, pool_,
                           {.weights = &model_.output_q8, .x = head_q8_.data(), .n_tokens = n_rows,
                            .out = logits_.data() + logits_row * hp.n_vocab, .out_stride = hp.n_vocab, .row_begin = 0,
                            .row_end = model_.output_q8.rows});
        return;
    }
    const model::FloatMatrix& out = model_.output;
    kernels::float_matmul(table_, pool_,
                          {.weights = out.data, .type = out.type, .cols = out.cols, .row_bytes = out.row_bytes,
                           .x = h_.data(), .x_stride = hp.n_embd, .n_tokens = n_rows,
                           .out = logits_.data() + logits_row * hp.n_vocab, .out_stride = hp.n_vocab,
                           .row_begin = 0, .row_end = out.rows});
}

}  // namespace tern::engine

#include "engine/inference_session.h"

#include <algorithm>
#include <type_traits>

#include "core/check.h"
#include "core/str_cat.h"
#include "kernels/matmul_driver.h"
#include "quant/block_formats.h"
#include "quant/dequantize.h"

namespace tern::engine {

InferenceSession::InferenceSession(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                                   size_t n_ctx, size_t n_slots, kernels::KvType kv_type, ModelSplit* split)
    : model_(model),
      table_(table),
      pool_(pool),
      n_ctx_(n_ctx == 0 ? model.hp.n_ctx_train : n_ctx),
      kv_type_(kv_type),
      split_(split),
      layers_(make_layer_stack(model, table, pool, n_ctx_, std::max<size_t>(1, n_slots), kv_type, split)),
      n_past_(std::max<size_t>(1, n_slots), 0),
      row_slot_(kMaxBatchTokens),
      row_pos_(kMaxBatchTokens),
      lanes_(1),
      x_(kMaxBatchTokens * model.hidden_width()),
      h_(kMaxBatchTokens * model.hidden_width()) {
    if (split_ != nullptr && split_->pipelined())
        head_rows_ = model::plan_pipeline_head(model.hp.n_vocab, split_->comm->size());
    if (model.quantized_head != model::QuantizedHead::kNone)
        head_q8_ = AlignedBuffer<std::byte>(kMaxBatchTokens * model.hidden_width() / kernels::kQ8BlockElems *
                                            kernels::kQ8BlockBytes);
    if (split_ != nullptr && split_->leader()) {
        id_ = split_->next_session_id++;
        leader_sends({.op = SessionCommand::Op::kCreate, .kv_type = static_cast<uint32_t>(kv_type), .session = id_,
                      .a = n_ctx_, .b = n_past_.size()});
    }
}

InferenceSession::~InferenceSession() {
    for (size_t lane = 0; lane < lanes_.size(); ++lane)   // a receive may still be writing into its buffer
        if (lanes_[lane].in_flight) finish_batch(lane);
    leader_sends({.op = SessionCommand::Op::kDestroy, .session = id_});
}

void InferenceSession::leader_sends(const SessionCommand& command) {
    if (split_ != nullptr && split_->leader()) send_command(*split_, command);
}

std::span<const float> InferenceSession::logits_row(size_t row, size_t lane) const {
    TERN_CHECK(lane < lanes_.size() && row < lanes_[lane].rows && !lanes_[lane].in_flight);
    const size_t v = model_.hp.n_vocab;
    return {lanes_[lane].logits.data() + row * v, v};
}

std::span<const float> InferenceSession::last_logits() const {
    TERN_CHECK(lanes_[0].rows > 0);
    return logits_row(lanes_[0].rows - 1);
}

void InferenceSession::truncate(size_t n, size_t slot) {
    TERN_CHECK(slot < n_past_.size() && n <= n_past_[slot]);
    TERN_CHECK(n == 0 || n == n_past_[slot] || layers_->rewindable());
    if (n != n_past_[slot]) leader_sends({.op = SessionCommand::Op::kTruncate, .session = id_, .a = n, .b = slot});
    n_past_[slot] = n;
}

Status InferenceSession::evaluate(std::span<const int32_t> tokens, bool all_logits) {
    batch_.resize(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i)
        batch_[i] = {.token = tokens[i], .slot = 0, .logits = all_logits || i + 1 == tokens.size()};
    return evaluate_batch(batch_);
}

Status InferenceSession::evaluate_batch(std::span<const BatchToken> batch) {
    TERN_TRY(start_batch(batch));
    finish_batch();
    return {};
}

Status InferenceSession::check_batch(std::span<const BatchToken> batch) {
    if (batch.empty()) return Error("evaluate: no tokens given");
    std::vector<size_t>& added = added_per_slot_;
    added.assign(n_past_.size(), 0);
    for (size_t i = 0; i < batch.size(); ++i) {
        const BatchToken& b = batch[i];
        if (b.token < 0 || static_cast<size_t>(b.token) >= model_.hp.n_vocab)
            return Error(str_cat("token ", i, " has id ", b.token, ", outside the vocabulary [0, ", model_.hp.n_vocab,
                                 ")"));
        if (b.slot >= n_past_.size())
            return Error(str_cat("token ", i, " is for slot ", b.slot, " but the cache has ", n_past_.size(), " slots"));
        ++added[b.slot];
    }
    for (size_t slot = 0; slot < added.size(); ++slot)
        if (added[slot] > n_ctx_ - n_past_[slot])
            return Error(str_cat("context full: ", n_past_[slot], " tokens in the cache + ", added[slot],
                                 " new > n_ctx ", n_ctx_));
    return {};
}

Status InferenceSession::start_batch(std::span<const BatchToken> batch, size_t lane_index) {
    TERN_TRY(check_batch(batch));
    if (lane_index >= lanes_.size()) lanes_.resize(lane_index + 1);
    Lane& lane = lanes_[lane_index];
    TERN_CHECK(!lane.in_flight);   // its logits buffer may still be receiving
    if (split_ != nullptr && split_->leader()) {
        leader_sends({.op = SessionCommand::Op::kEvaluate, .session = id_, .a = batch.size()});
        split_->comm->broadcast({reinterpret_cast<std::byte*>(const_cast<BatchToken*>(batch.data())), batch.size_bytes()});
    }
    lane.rows = static_cast<size_t>(std::count_if(batch.begin(), batch.end(), [](const BatchToken& b) { return b.logits; }));
    lane.logits.resize(lane.rows * model_.hp.n_vocab);
    if (!head_rows_.empty() && (split_->leader() || split_->last())) {
        lane.hidden.resize(lane.rows * model_.hidden_width());
        lane.last_columns.resize(lane.rows * (model_.hp.n_vocab - last_rank_head_begin()));
    }
    lane.in_flight = true;
    size_t logits_row = 0;
    const size_t step_tokens = forward_step_tokens(split_, batch.size(), kMaxBatchTokens);
    for (size_t begin = 0; begin < batch.size(); begin += step_tokens) {
        const std::span<const BatchToken> step = batch.subspan(begin, std::min(step_tokens, batch.size() - begin));
        forward(step);
        head(step, lane, logits_row);
        for (const BatchToken& b : step) logits_row += b.logits ? 1 : 0;
    }
    // The last rank's hidden states and logits columns are in the lane's buffers, which the
    // lane's next batch reuses: they must have left.
    if (split_ != nullptr && split_->pipelined() && split_->last()) split_->comm->finish_sends();
    return {};
}

// The pipeline's leader waits for the last rank's hidden states and logits only now, so that it
// runs its layers on the next micro-batch, or the next batch, while the later ranks run theirs
// on this one; then it computes its own rows of the head.
void InferenceSession::finish_batch(size_t lane_index) {
    TERN_CHECK(lane_index < lanes_.size());
    Lane& lane = lanes_[lane_index];
    if (lane.receive_ticket != 0) leader_head(lane);
    lane.in_flight = false;
}

// The leader's rows of the head for every logits row of the lane, computed while the last rank
// computes its own rows, and then the last rank's columns put in place beside them.
void InferenceSession::leader_head(Lane& lane) {
    const size_t width = model_.hidden_width(), n_vocab = model_.hp.n_vocab;
    split_->comm->finish_receives(lane.hidden_ticket);
    for (size_t begin = 0; begin < lane.rows; begin += kMaxBatchTokens)
        compute_head(lane.hidden.data() + begin * width, std::min(kMaxBatchTokens, lane.rows - begin),
                     lane.logits.data() + begin * n_vocab);
    split_->comm->finish_receives(lane.receive_ticket);
    lane.receive_ticket = lane.hidden_ticket = 0;
    const size_t first = last_rank_head_begin(), columns = n_vocab - first;
    for (size_t row = 0; row < lane.rows; ++row)
        std::copy_n(lane.last_columns.data() + row * columns, columns, lane.logits.data() + row * n_vocab + first);
}

void InferenceSession::forward(std::span<const BatchToken> batch) {
    for (size_t t = 0; t < batch.size(); ++t) {
        row_slot_[t] = batch[t].slot;
        row_pos_[t] = n_past_[batch[t].slot]++;
    }
    // Split by layers, the ranks after the first receive their input from the rank before.
    if (split_ == nullptr || split_->by_rows() || split_->leader()) embed(batch);
    layers_->forward(x_.data(), {.n = batch.size(), .slot = row_slot_.data(), .pos = row_pos_.data()});
}

// Complex models read their embedding as [re | im] rows, from one matrix or from two.
void InferenceSession::embed(std::span<const BatchToken> batch) {
    const model::FloatMatrix& e = model_.token_embd;
    const model::FloatMatrix& imag = model_.token_embd_imag;
    const size_t width = model_.hidden_width();
    for (size_t t = 0; t < batch.size(); ++t) {
        const auto token = static_cast<size_t>(batch[t].token);
        Status s = quant::dequantize(e.type, {e.row(token), e.row_bytes}, {x_.data() + t * width, e.cols});
        if (s.ok() && imag.rows != 0)
            s = quant::dequantize(imag.type, {imag.row(token), imag.row_bytes}, {x_.data() + t * width + e.cols, imag.cols});
        TERN_CHECK(s.ok());   // the loader checked the types and the row sizes
    }
}

// The final norm and the LM head for the rows of this step that asked for logits. Split by
// layers, only the last rank has the final hidden states: it sends them to the leader, computes
// its rows of the head and sends those columns of the logits; the leader computes the other
// rows in finish_batch().
void InferenceSession::head(std::span<const BatchToken> batch, Lane& lane, size_t logits_row) {
    const model::Hparams& hp = model_.hp;
    const size_t width = model_.hidden_width();
    const bool pipeline = !head_rows_.empty();
    size_t n_rows = 0;
    for (const BatchToken& b : batch) n_rows += b.logits ? 1 : 0;
    if (n_rows == 0) return;
    float* logits = lane.logits.data() + logits_row * hp.n_vocab;
    float* hidden = pipeline ? lane.hidden.data() + logits_row * width : h_.data();
    const size_t last_rank = split_ == nullptr ? 0 : split_->comm->size() - 1;
    const size_t columns = pipeline ? hp.n_vocab - last_rank_head_begin() : 0;
    float* last_columns = pipeline ? lane.last_columns.data() + logits_row * columns : nullptr;
    if (pipeline && !split_->last()) {
        if (split_->leader()) {   // waited for in finish_batch(), in the order they were sent
            lane.hidden_ticket = split_->comm->receive_without_waiting(last_rank, hidden, n_rows * width);
            lane.receive_ticket = split_->comm->receive_without_waiting(last_rank, last_columns, n_rows * columns);
        }
        return;
    }
    size_t row = 0;
    for (size_t t = 0; t < batch.size(); ++t)
        if (batch[t].logits) layers_->final_norm(x_.data() + t * width, hidden + row++ * width);
    if (pipeline) split_->comm->send_without_waiting(0, hidden, n_rows * width);
    compute_head(hidden, n_rows, logits);
    if (!pipeline) return;
    for (size_t r = 0; r < n_rows; ++r)
        std::copy_n(logits + r * hp.n_vocab + last_rank_head_begin(), columns, last_columns + r * columns);
    split_->comm->send_without_waiting(0, last_columns, n_rows * columns);
}

// Logits of n_rows final hidden states (rows, hidden_width() apart). Split by rows: this rank's
// rows of the head, then the leader gathers every rank's columns; split by layers: this rank's
// rows of the head (plan_pipeline_head), those columns only.
void InferenceSession::compute_head(const float* rows, size_t n_rows, float* logits) {
    const model::Hparams& hp = model_.hp;
    const size_t width = model_.hidden_width();
    if (layers_->head(rows, n_rows, logits, hp.n_vocab)) return;
    const bool by_rows = split_ != nullptr && split_->by_rows();
    const bool quantized = model_.quantized_head != model::QuantizedHead::kNone;
    size_t row_begin = 0, row_end = quantized ? model_.quantized_head_rows() : model_.output.rows;
    if (by_rows) {
        row_begin = split_->begin(split_->shares.vocab_rows);
        row_end = split_->end(split_->shares.vocab_rows);
    } else if (!head_rows_.empty()) {
        row_begin = split_->begin(head_rows_);
        row_end = split_->end(head_rows_);
    }
    if (quantized) {
        const size_t blocks = width / kernels::kQ8BlockElems;
        for (size_t t = 0; t < n_rows; ++t)
            quant::quantize_row_q8_0(rows + t * width, head_q8_.data() + t * blocks * kernels::kQ8BlockBytes, width);
        // The quantised copy may hold only this rank's rows, from quantized_head_first_row on.
        const size_t first = model_.quantized_head_first_row;
        TERN_CHECK(row_begin >= first && row_end - first <= model_.quantized_head_rows());
        auto args = [&](const auto& rows) {
            return kernels::HeadMatmulArgs<std::decay_t<decltype(rows)>>{
                .weights = &rows, .x = head_q8_.data(), .n_tokens = n_rows, .out = logits + first,
                .out_stride = hp.n_vocab, .row_begin = row_begin - first, .row_end = row_end - first};
        };
        if (row_end > row_begin) {
            if (model_.q8_head()) kernels::q8_matmul(table_, pool_, args(model_.output_q8));
            else if (model_.q4_head()) kernels::q4_matmul(table_, pool_, args(model_.output_q4));
            else kernels::q6_k_matmul(table_, pool_, args(model_.output_q6_k));
        }
    } else {
        const model::FloatMatrix& out = model_.output;
        kernels::float_matmul(table_, pool_,
                              {.weights = out.data, .type = out.type, .cols = out.cols, .row_bytes = out.row_bytes,
                               .x = rows, .x_stride = width, .n_tokens = n_rows, .out = logits,
                               .out_stride = hp.n_vocab, .row_begin = row_begin, .row_end = row_end});
    }
    if (by_rows) split_->comm->gather_columns(logits, n_rows, hp.n_vocab, split_->shares.vocab_rows);
}

}  // namespace tern::engine

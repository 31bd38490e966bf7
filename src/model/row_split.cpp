#include "model/row_split.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/check.h"
#include "core/str_cat.h"

namespace tern::model {

std::vector<size_t> balanced_bounds(size_t n, size_t n_ranks, size_t granule) {
    const size_t units = (n + granule - 1) / granule;
    std::vector<size_t> bounds(n_ranks + 1, 0);
    for (size_t r = 0; r < n_ranks; ++r) {
        const size_t share = units / n_ranks + (r < units % n_ranks ? 1 : 0);
        bounds[r + 1] = std::min(n, bounds[r] + share * granule);
    }
    return bounds;
}

namespace {

std::vector<size_t> scaled(const std::vector<size_t>& bounds, size_t factor) {
    std::vector<size_t> out(bounds.size());
    for (size_t i = 0; i < bounds.size(); ++i) out[i] = bounds[i] * factor;
    return out;
}

// The Q8_0 kernels take whole row pairs, and 32 keeps each share's logits cache-line aligned.
constexpr size_t kVocabGranule = 32;

Status require_ternary_transformer(const Model& model, std::string_view split) {
    if (model.arch->family == ModelFamily::kTernaryTransformer) return {};
    return Error(str_cat("--split ", split, " supports ternary transformers; ", model.source, " has architecture ",
                         model.arch->name));
}

}  // namespace

Result<std::vector<size_t>> plan_layer_split(const Model& model, size_t n_ranks) {
    TERN_TRY(require_ternary_transformer(model, "layers"));
    TERN_CHECK(n_ranks > 0);
    return balanced_bounds(model.hp.n_layer, n_ranks, 1);
}

std::vector<size_t> plan_pipeline_head(size_t n_vocab, size_t n_ranks) {
    TERN_CHECK(n_ranks > 0);
    const size_t leader_end = n_ranks == 1 ? n_vocab : balanced_bounds(n_vocab, 2, kVocabGranule)[1];
    std::vector<size_t> bounds(n_ranks + 1, leader_end);
    bounds.front() = 0;
    bounds.back() = n_vocab;
    return bounds;
}

void keep_layer_share(Model& model, const std::vector<size_t>& bounds, size_t rank) {
    for (size_t layer = 0; layer < model.layers.size(); ++layer) {
        if (layer >= bounds[rank] && layer < bounds[rank + 1]) continue;
        LayerWeights& w = model.layers[layer];
        for (quant::PackedTernary* p : {&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down}) *p = quant::PackedTernary{};
    }
}

Result<RowShares> plan_row_split(const Hparams& hp, size_t n_ranks) {
    TERN_CHECK(n_ranks > 0);
    if (hp.head_dim % quant::kRowTile != 0)
        return Error(str_cat("--split rows needs a head size that is a multiple of ", quant::kRowTile, "; the model's is ",
                             hp.head_dim));
    RowShares shares;
    shares.n_ranks = n_ranks;
    shares.kv_heads = balanced_bounds(hp.n_head_kv, n_ranks, 1);
    shares.q_rows = scaled(shares.kv_heads, hp.n_head / hp.n_head_kv * hp.head_dim);
    shares.kv_rows = scaled(shares.kv_heads, hp.head_dim);
    shares.embd_rows = balanced_bounds(hp.n_embd, n_ranks, quant::kRowTile);
    shares.ff_rows = balanced_bounds(hp.n_ff, n_ranks, quant::kRowTile);
    shares.vocab_rows = balanced_bounds(hp.n_vocab, n_ranks, kVocabGranule);
    return shares;
}

Result<RowShares> plan_row_split(const Model& model, size_t n_ranks) {
    TERN_TRY(require_ternary_transformer(model, "rows"));
    return plan_row_split(model.hp, n_ranks);
}

namespace {

// Which of the plan's bounds cut the rows of a matrix with this role; null: not split.
const std::vector<size_t>* row_bounds(const RowShares& shares, TensorRole role) {
    switch (role) {
        case TensorRole::kAttnQ: return &shares.q_rows;
        case TensorRole::kAttnK:
        case TensorRole::kAttnV: return &shares.kv_rows;
        case TensorRole::kAttnOutput:
        case TensorRole::kFfnDown: return &shares.embd_rows;
        case TensorRole::kFfnGate:
        case TensorRole::kFfnUp: return &shares.ff_rows;
        case TensorRole::kOutput: return &shares.vocab_rows;
        default: return nullptr;
    }
}

constexpr RowRange kAllRows{.begin = 0, .end = SIZE_MAX};

}  // namespace

void load_only_row_share(LoadOptions& options, size_t n_ranks, size_t rank) {
    TERN_CHECK(rank < n_ranks);
    options.keep_rows = [n_ranks, rank](TensorRole role, const Hparams& hp) {
        const Result<RowShares> shares = plan_row_split(hp, n_ranks);
        if (!shares.ok()) return kAllRows;
        const std::vector<size_t>* bounds = row_bounds(shares.value(), role);
        if (bounds == nullptr) return kAllRows;
        return RowRange{.begin = (*bounds)[rank], .end = (*bounds)[rank + 1]};
    };
}

void load_only_layer_share(LoadOptions& options, size_t n_ranks, size_t rank) {
    TERN_CHECK(rank < n_ranks);
    options.keep_layer = [n_ranks, rank](size_t layer, size_t n_layer) {
        const std::vector<size_t> bounds = balanced_bounds(n_layer, n_ranks, 1);   // as plan_layer_split
        return layer >= bounds[rank] && layer < bounds[rank + 1];
    };
    options.keep_rows = [n_ranks, rank](TensorRole role, const Hparams& hp) {
        if (role != TensorRole::kOutput) return kAllRows;
        const std::vector<size_t> head = plan_pipeline_head(hp.n_vocab, n_ranks);
        return RowRange{.begin = head[rank], .end = head[rank + 1]};
    };
}

quant::PackedTernary slice_rows(const quant::PackedTernary& matrix, size_t begin, size_t end) {
    TERN_CHECK(begin <= end && end <= matrix.rows);
    quant::PackedTernary slice;
    slice.layout = matrix.layout;
    slice.cols = matrix.cols;
    slice.cols_padded = matrix.cols_padded;
    if (begin == end) return slice;   // a share with no rows (more ranks than row tiles)
    TERN_CHECK(begin % quant::kRowTile == 0);
    TERN_CHECK(end % quant::kRowTile == 0 || end == matrix.rows);   // no foreign rows in the last tile
    slice.rows = end - begin;
    slice.rows_padded = (slice.rows + quant::kRowTile - 1) / quant::kRowTile * quant::kRowTile;
    const size_t first_tile = begin / quant::kRowTile;
    slice.codes = AlignedBuffer<uint8_t>(slice.n_tiles() * matrix.tile_bytes());
    std::memcpy(slice.codes.data(), matrix.tile(first_tile), slice.codes.size_bytes());
    slice.row_scale = AlignedBuffer<float>(slice.rows_padded);
    std::memcpy(slice.row_scale.data(), matrix.row_scale.data() + begin, slice.row_scale.size_bytes());
    if (matrix.sign_planes_bias.size() != 0) {
        slice.sign_planes_bias = AlignedBuffer<uint32_t>(slice.rows_padded);
        std::memcpy(slice.sign_planes_bias.data(), matrix.sign_planes_bias.data() + begin,
                    slice.sign_planes_bias.size_bytes());
    }
    return slice;
}

void keep_row_share(Model& model, const RowShares& shares, size_t rank) {
    TERN_CHECK(rank < shares.n_ranks);
    const auto keep = [rank](quant::PackedTernary& matrix, const std::vector<size_t>& bounds) {
        if (matrix.rows != bounds.back()) {   // loaded as the share already
            TERN_CHECK(matrix.rows == bounds[rank + 1] - bounds[rank]);
            return;
        }
        matrix = slice_rows(matrix, bounds[rank], bounds[rank + 1]);
    };
    for (LayerWeights& layer : model.layers) {
        keep(layer.q, shares.q_rows);
        keep(layer.k, shares.kv_rows);
        keep(layer.v, shares.kv_rows);
        keep(layer.o, shares.embd_rows);
        keep(layer.gate, shares.ff_rows);
        keep(layer.up, shares.ff_rows);
        keep(layer.down, shares.embd_rows);
    }
}

}  // namespace tern::model

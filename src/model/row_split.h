// How a model splits over the ranks of a job. Pipeline (--split layers): contiguous layers.
// Tensor parallelism by output rows (tern run --split rows): which rows of each projection and
// of the head a rank keeps, and the slicing that keeps them. Every output row is computed by
// exactly one rank, exactly as one process computes it, so gathering the rows reproduces the
// one-process result bit for bit. Attention splits with the KV heads (a rank keeps whole GQA
// groups: its query heads, their keys and values, and their part of the KV cache).
#pragma once

#include <cstddef>
#include <vector>

#include "model/model.h"
#include "tern/status.h"

namespace tern::model {

// For each kind of output, bounds[r] .. bounds[r + 1] is rank r's range (n_ranks + 1 entries).
struct RowShares {
    size_t n_ranks = 1;
    std::vector<size_t> kv_heads;   // KV heads (each with its group of query heads)
    std::vector<size_t> q_rows;     // rows of q, and columns of the attention output
    std::vector<size_t> kv_rows;    // rows of k and v
    std::vector<size_t> embd_rows;  // rows of o and down (columns of the hidden state)
    std::vector<size_t> ff_rows;    // rows of gate and up (columns of the FFN activation)
    std::vector<size_t> vocab_rows; // rows of the LM head (columns of the logits)
};

// Even shares of n units cut only at multiples of `granule` (the last share takes the tail).
std::vector<size_t> balanced_bounds(size_t n, size_t n_ranks, size_t granule);

// With more ranks than KV heads, the last ranks hold no heads (and compute no attention).
// Errors: a family other than the ternary transformer, a head size that is not a whole number
// of row tiles.
Result<RowShares> plan_row_split(const Model& model, size_t n_ranks);

// The same plan from the hyper-parameters alone (no family check), as a loader needs it before
// the model exists. Errors: a head size that is not a whole number of row tiles.
Result<RowShares> plan_row_split(const Hparams& hp, size_t n_ranks);

// LoadOptions for rank `rank` of `n_ranks`, so that it reads and repacks only its share:
// split by rows, its rows of every projection and of a Q8_0 head (all rows where the plan
// fails: the split's own planning then reports why); split by layers, its layers, and its rows
// of a quantised head (plan_pipeline_head).
void load_only_row_share(LoadOptions& options, size_t n_ranks, size_t rank);
void load_only_layer_share(LoadOptions& options, size_t n_ranks, size_t rank);

// Rows [begin, end) of a packed matrix (begin a multiple of kRowTile) as a matrix of its own;
// no rows at all when begin == end.
quant::PackedTernary slice_rows(const quant::PackedTernary& matrix, size_t begin, size_t end);

// Pipeline (--split layers): contiguous layers per rank, as even as they go. Errors: a family
// other than the ternary transformer.
Result<std::vector<size_t>> plan_layer_split(const Model& model, size_t n_ranks);
// Pipeline: rank r computes rows [bounds[r], bounds[r + 1]) of the LM head. The last rank, which
// has the final hidden states, and the leader, which waits for the logits anyway, each take
// about half, so that neither end of the pipeline carries the whole head (for 2B4T's shape the
// head is 40 % of a token's bytes); the ranks between take none. One rank: every row.
std::vector<size_t> plan_pipeline_head(size_t n_vocab, size_t n_ranks);
// Frees the projections of every layer outside [bounds[rank], bounds[rank + 1]).
void keep_layer_share(Model& model, const std::vector<size_t>& bounds, size_t rank);

// Replaces every projection of the model with rank `rank`'s rows; a projection loaded with
// load_only_row_share holds them already and stays. A float head stays whole (read in place
// from the file mapping, each rank touching only its rows); a Q8_0 head holds the rows it was
// loaded with (all, or the rank's own).
void keep_row_share(Model& model, const RowShares& shares, size_t rank);

}  // namespace tern::model

// A model split over the ranks of a job, as the engine sees it: the communicator, what each
// rank holds (model/row_split.h), and the commands by which rank 0 (the leader, which owns the
// tokenizer, sampling and the terminal or HTTP) makes the other ranks (followers) mirror its
// sessions. --split rows (tensor parallel): every rank computes its rows of every layer.
// --split layers (pipeline): each rank runs its contiguous layers on the hidden state the rank
// before it sends, and the last rank and the leader each compute half of the head's rows.
// A session built with a ModelSplit on the leader sends each create, evaluate, truncate and
// destroy to the followers; follow_leader() replays them until the leader finishes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "distributed/communicator.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "model/row_split.h"
#include "tern/status.h"

namespace tern::engine {

enum class SplitKind { kRows, kLayers };

struct ModelSplit {
    distributed::Communicator* comm = nullptr;
    SplitKind kind = SplitKind::kRows;
    model::RowShares shares = {};      // kRows
    std::vector<size_t> layers = {};   // kLayers: rank r runs layers [layers[r], layers[r + 1])
    uint64_t next_session_id = 0;   // the leader numbers its sessions in creation order

    size_t rank() const { return comm->rank(); }
    bool leader() const { return comm->leader(); }
    bool last() const { return comm->rank() + 1 == comm->size(); }
    bool by_rows() const { return kind == SplitKind::kRows; }
    // Split by layers over more than one rank: hidden states and logits pass between ranks.
    bool pipelined() const { return kind == SplitKind::kLayers && comm->size() > 1; }
    // This rank's range of `bounds`: [begin, end).
    size_t begin(const std::vector<size_t>& bounds) const { return bounds[rank()]; }
    size_t end(const std::vector<size_t>& bounds) const { return bounds[rank() + 1]; }
};

// Tokens per forward step for a batch of n tokens (at most max_step): the pipeline cuts a long
// batch into about two micro-batches per rank, so that while rank r runs its layers on one,
// rank r - 1 runs its layers on the next; never below 16 tokens, where a step would re-read
// the weights for too little work. Logits do not depend on how a batch is cut.
size_t forward_step_tokens(const ModelSplit* split, size_t n, size_t max_step);

// Batches kept in flight at once by the server's scheduler and by `bench`'s batched decode:
// one per rank of a pipeline (--split layers), so that rank 0 starts one group of sequences'
// step while the later ranks run another's; 1 elsewhere.
size_t pipeline_lanes(const ModelSplit* split);

// Decoding sequences per step when `lanes` steps may be in flight. The groups fill the gap the
// micro-batches leave: a step of more than 16 tokens is cut into micro-batches that already keep
// the ranks busy (one step holds them all); up to 16, the sequences are cut evenly over the
// lanes, but not below 4 per step: a step re-reads the rank's weights, and below that a step of
// half the sequences costs about as much as the whole one (measured on the 2B4T shape,
// docs/distributed.md). One lane: all of them.
size_t decode_step_share(size_t decoding, size_t lanes);

// What the leader's sessions tell the followers (broadcast as bytes: every rank runs the same
// binary, so the layout agrees).
struct SessionCommand {
    enum class Op : uint32_t { kCreate = 1, kEvaluate, kTruncate, kDestroy, kFinish };
    Op op = Op::kFinish;
    uint32_t kv_type = 0;
    uint64_t session = 0;
    uint64_t a = 0;   // create: n_ctx; evaluate: tokens that follow; truncate: the new length
    uint64_t b = 0;   // create: slots; truncate: the slot
};

// Leader: sends one command (and nothing else).
void send_command(ModelSplit& split, const SessionCommand& command);

// Follower: mirrors the leader's sessions on this rank's share of the model until the leader
// sends kFinish. Errors: a command that does not replay (which would mean the ranks disagree).
Status follow_leader(const model::Model& model, const kernels::KernelTable& table, ThreadPool& pool,
                     ModelSplit& split);

// Leader: releases the followers from follow_leader() (at the end of the command).
void finish_followers(ModelSplit& split);

}  // namespace tern::engine

// Continuous batching: one thread owns the inference session (a KV cache slot per running
// request) and, step after step, evaluates one batch holding the next token of every request
// that is generating plus prompt chunks of requests that are starting (in a --split layers
// pipeline, of a group of them, with a step of another group in flight on each rank). Requests join at the
// next step when a slot is free and leave as soon as they finish or their client goes away,
// so a slot never waits for the others. Logits are per token (InferenceSession), so a
// request's text does not depend on what it was batched with.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/fair_mutex.h"
#include "core/thread_pool.h"
#include "engine/draft_length_policy.h"
#include "engine/draft_model_drafter.h"
#include "engine/inference_session.h"
#include "engine/prompt_lookup_drafter.h"
#include "kernels/dispatch.h"
#include "model/model.h"
#include "sampling/sampler.h"
#include "tern/batcher.h"
#include "tokenizer/tokenizer.h"

namespace tern::engine {

struct GenerationJob {
    std::vector<int32_t> prompt;   // non-empty, shorter than the context
    size_t max_tokens = 0;         // 0: until the context is full
    sampling::SamplerOptions sampler;
    std::vector<std::string> stop;
    bool ignore_eos = false;       // generate on through end-of-generation tokens
};

// What the scheduler reports as it goes (each may be empty), on its own thread.
struct SchedulerObserver {
    std::function<void(size_t prompt_tokens)> on_prompt;           // a request admitted to a slot
    std::function<void(bool first, double seconds)> on_token;      // since submission, or the previous token
    std::function<void(size_t checked, size_t held)> on_guesses;   // a request's guesses in a step
};

struct SchedulerOptions {
    size_t n_slots = 4;     // requests generating at once
    size_t n_ctx = 0;       // per slot; 0: the model's training context
    size_t max_queue = 16;  // requests waiting for a slot beyond which submit() refuses
    kernels::KvType kv_type = kernels::KvType::kF32;
    SchedulerObserver observer = {};
    // Speculative decoding with prompt-lookup guesses (engine/speculative_generator.h has the
    // why): up to this many guesses checked per request and step; 0: off. Text is unchanged.
    size_t max_draft = 0;
    bool adaptive_draft = true;   // false: check every guess the drafter gives
    // --split: the model holds this rank's share, and the session drives the other ranks.
    engine::ModelSplit* model_split = nullptr;
    // Guesses from a draft model instead (with max_draft > 0): a smaller model whose vocabulary
    // is the tokenizer's (the caller checks, engine::check_same_vocabulary), drafting greedily
    // on the scheduler's pool in a cache of its own per slot. Both outlive the scheduler.
    const model::Model* draft_model = nullptr;
    const kernels::KernelTable* draft_kernels = nullptr;
    // Batches in flight at once, each holding other requests: 0 picks one per rank of a pipeline
    // (--split layers), so that every rank runs its layers on one batch while the others run
    // theirs on others, and 1 elsewhere (a step computes everything before the next begins).
    size_t lanes = 0;
};

struct SchedulerLoad {
    size_t n_slots = 0;
    size_t active = 0;
    size_t queued = 0;
    size_t max_queue = 0;
    bool draining = false;
};

class BatchScheduler {
public:
    // Steps run on `pool`, each started and finished holding `compute` (the model's lock,
    // shared with its other computations; in a pipeline other callers may run while a step's
    // logits are on their way); both outlive the scheduler.
    BatchScheduler(const model::Model& model, const kernels::KernelTable& table, const tokenizer::Tokenizer& tokenizer,
                   ThreadPool& pool, FairMutex& compute, const SchedulerOptions& options);
    ~BatchScheduler();
    BatchScheduler(const BatchScheduler&) = delete;
    BatchScheduler& operator=(const BatchScheduler&) = delete;

    // Queues a request; nullptr when every slot is busy and the queue is full, when draining, or
    // for an empty prompt.
    std::shared_ptr<BatchStream> submit(GenerationJob job);
    // Refuses new requests from now on; those running and queued go on.
    void begin_drain();
    // Ends every running and queued request with an error and stops the thread. Takes
    // `compute` (steps in flight must land first): call it without holding it.
    void shutdown();

    SchedulerLoad load() const;
    size_t n_ctx() const { return session_.n_ctx(); }
    size_t kv_cache_bytes() const { return session_.kv_cache_bytes(); }
    // KV cache positions in use, all slots (as of the last step).
    size_t kv_cells_used() const { return kv_cells_used_.load(); }

private:
    struct Queued {
        GenerationJob job;
        std::shared_ptr<BatchStream> channel;
        std::chrono::steady_clock::time_point submitted;
    };
    struct Sequence;
    // A request's logits rows in the step: its newest token then its guesses (decode), or its
    // prompt's last token.
    struct RowGroup {
        Sequence* seq;
        size_t first_row;
        size_t n_rows;
    };
    // A step started on a lane of the session and not yet finished: its batch, and the
    // requests in it (none of them goes into another step until it finishes).
    struct Flight {
        size_t lane = 0;
        std::vector<engine::BatchToken> batch;
        std::vector<RowGroup> row_groups;   // decoding requests first, then ended prompts
        size_t decoding = 0;
        bool prefilling = false;
        bool overlapped = false;   // another step was in flight beside it
        std::vector<Sequence*> sequences;
        std::chrono::steady_clock::time_point started;
        size_t next_logits_row() const {
            return row_groups.empty() ? 0 : row_groups.back().first_row + row_groups.back().n_rows;
        }
    };

    void run();
    void admit_waiting();
    void drop_cancelled();
    bool has_ready_work() const;
    size_t decode_budget() const;
    void start_flight();
    void finish_flight();
    void fail_all(const std::string& error);
    // `n_past`: the request's cache positions that count once this token is taken (a step's
    // later guesses may sit beyond them).
    void take_token(Sequence& seq, int32_t token, size_t n_past);
    void add_decode_rows(Flight& flight, Sequence& seq);
    void take_decode_rows(const Flight& flight, const RowGroup& group, double step_seconds, bool timed);
    void finish(Sequence& seq, FinishReason reason);

    const tokenizer::Tokenizer& tokenizer_;
    ThreadPool& pool_;
    FairMutex& compute_;
    engine::InferenceSession session_;
    size_t max_queue_;
    SchedulerObserver observer_;
    std::atomic<size_t> kv_cells_used_{0};

    mutable std::mutex mutex_;               // guards queue_, stopping_, active_count_
    std::condition_variable work_;
    std::deque<Queued> queue_;
    bool stopping_ = false;
    bool draining_ = false;
    size_t active_count_ = 0;

    std::vector<std::unique_ptr<Sequence>> active_;   // scheduler thread only
    std::vector<size_t> free_slots_;
    size_t max_draft_;
    bool adaptive_draft_;
    size_t n_lanes_;
    std::deque<Flight> flights_;   // oldest first; they finish in that order
    engine::PromptLookupDrafter drafter_;
    std::vector<std::unique_ptr<engine::DraftModelDrafter>> slot_drafters_;   // per slot, with a draft model
    std::thread thread_;
};

}  // namespace tern::engine

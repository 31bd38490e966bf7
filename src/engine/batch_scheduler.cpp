#include "engine/batch_scheduler.h"

#include <algorithm>

#include "sampling/stop_matcher.h"

namespace tern::engine {

struct BatchScheduler::Sequence {
    Sequence(Queued queued, size_t slot, size_t n_ctx, const tokenizer::Tokenizer& tokenizer, bool adaptive_draft)
        : job(std::move(queued.job)),
          channel(std::move(queued.channel)),
          slot(slot),
          sampler(job.sampler),
          decoder(tokenizer),
          stops(job.stop),
          history(job.prompt),
          limit(std::min(job.max_tokens == 0 ? n_ctx : job.max_tokens, n_ctx - job.prompt.size())),
          draft_policy(adaptive_draft),
          last_event(queued.submitted) {}

    GenerationJob job;
    std::shared_ptr<BatchStream> channel;
    size_t slot;
    sampling::Sampler sampler;
    tokenizer::StreamingDecoder decoder;
    sampling::StopMatcher stops;
    std::vector<int32_t> history;   // prompt and generated tokens (for the penalties)
    size_t limit;                   // most tokens to generate
    size_t prefilled = 0;           // prompt tokens evaluated
    size_t generated = 0;
    int32_t pending = -1;           // sampled, to be evaluated next step
    std::vector<int32_t> guesses;   // checked in this step after `pending`
    size_t counted_cells = 0;       // this request's share of kv_cells_used_
    engine::DraftLengthPolicy draft_policy;
    bool in_flight = false;         // in a step that has not finished
    bool done = false;
    std::chrono::steady_clock::time_point last_event;   // submission, then the latest token
};

BatchScheduler::BatchScheduler(const model::Model& model, const kernels::KernelTable& table,
                               const tokenizer::Tokenizer& tokenizer, ThreadPool& pool, FairMutex& compute,
                               const SchedulerOptions& options)
    : tokenizer_(tokenizer),
      pool_(pool),
      compute_(compute),
      session_(model, table, pool_, options.n_ctx, std::max<size_t>(1, options.n_slots), options.kv_type,
               options.model_split),
      max_queue_(options.max_queue),
      observer_(options.observer),
      max_draft_(std::min(options.max_draft, engine::DraftLengthPolicy::kMaxRows - 1)),
      adaptive_draft_(options.adaptive_draft),
      n_lanes_(std::min(options.lanes != 0 ? options.lanes : engine::pipeline_lanes(options.model_split),
                        session_.n_slots())) {
    for (size_t slot = session_.n_slots(); slot-- > 0;) free_slots_.push_back(slot);
    // Guesses need a model that can rewind its cache; a recurrent one decodes plainly.
    if (options.draft_model != nullptr && options.draft_kernels != nullptr && max_draft_ > 0 && session_.can_rewind())
        for (size_t slot = 0; slot < session_.n_slots(); ++slot)
            slot_drafters_.push_back(std::make_unique<engine::DraftModelDrafter>(*options.draft_model, *options.draft_kernels,
                                                                                 pool_, session_.n_ctx()));
    thread_ = std::thread([this] { run(); });
}

BatchScheduler::~BatchScheduler() { shutdown(); }

std::shared_ptr<BatchStream> BatchScheduler::submit(GenerationJob job) {
    if (job.prompt.empty()) return nullptr;   // the callers check; a step needs a token
    auto channel = std::make_shared<BatchStream>();
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || draining_ || active_count_ + queue_.size() >= session_.n_slots() + max_queue_) return nullptr;
        queue_.push_back({std::move(job), channel, std::chrono::steady_clock::now()});
    }
    work_.notify_one();
    return channel;
}

void BatchScheduler::begin_drain() {
    std::lock_guard lock(mutex_);
    draining_ = true;
}

void BatchScheduler::shutdown() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_one();
    if (thread_.joinable()) thread_.join();
}

SchedulerLoad BatchScheduler::load() const {
    std::lock_guard lock(mutex_);
    return {.n_slots = session_.n_slots(), .active = active_count_, .queued = queue_.size(),
            .max_queue = max_queue_, .draining = draining_ || stopping_};
}

void BatchScheduler::run() {
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            work_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
            if (stopping_) break;
        }
        drop_cancelled();
        std::lock_guard compute(compute_);   // other calls on the model go between steps
        admit_waiting();
        // One lane: start a step, then finish it. A pipeline keeps a step on every lane while
        // there is work for it, and finishes the oldest when the lanes are full or nothing else
        // is ready (its requests are the next to be ready).
        if (flights_.size() < n_lanes_ && has_ready_work()) start_flight();
        if (!flights_.empty() && (flights_.size() == n_lanes_ || !has_ready_work())) finish_flight();
    }
    std::lock_guard compute(compute_);
    fail_all("the server is shutting down");
}

void BatchScheduler::admit_waiting() {
    std::vector<size_t> admitted, prompt_sizes;
    {
        std::lock_guard lock(mutex_);
        while (!queue_.empty() && !free_slots_.empty()) {
            Queued queued = std::move(queue_.front());
            queue_.pop_front();
            if (queued.channel->cancelled()) continue;
            const size_t slot = free_slots_.back();
            free_slots_.pop_back();
            admitted.push_back(slot);
            prompt_sizes.push_back(queued.job.prompt.size());
            active_.push_back(
                std::make_unique<Sequence>(std::move(queued), slot, session_.n_ctx(), tokenizer_, adaptive_draft_));
        }
        active_count_ = active_.size();
    }
    // Outside the lock: split over ranks, a truncation is a message to the other ranks, and
    // submit() and load() should not wait for it (nor for the observer, which may call them).
    for (const size_t slot : admitted) session_.truncate(0, slot);
    if (observer_.on_prompt)
        for (const size_t n : prompt_sizes) observer_.on_prompt(n);
}

void BatchScheduler::drop_cancelled() {
    std::lock_guard lock(mutex_);
    std::erase_if(queue_, [](const Queued& q) { return q.channel->cancelled(); });
    for (auto& seq : active_)
        if (!seq->in_flight && seq->channel->cancelled()) {   // one in a step leaves after it
            seq->done = true;
            free_slots_.push_back(seq->slot);
            kv_cells_used_ -= seq->counted_cells;
        }
    std::erase_if(active_, [](const auto& seq) { return seq->done; });
    active_count_ = active_.size();
}

bool BatchScheduler::has_ready_work() const {
    return std::ranges::any_of(active_, [](const auto& seq) { return !seq->in_flight && !seq->done; });
}

// Requests whose next token a step takes: every decoding request with one lane, a share of
// them in a pipeline (model_split.h). Prompt chunks then fill any step up to kMaxBatchTokens
// (micro-batches keep a long one flowing through the pipeline).
size_t BatchScheduler::decode_budget() const {
    const auto decoding = static_cast<size_t>(
        std::ranges::count_if(active_, [](const auto& seq) { return seq->prefilled == seq->job.prompt.size(); }));
    return n_lanes_ == 1 ? active_.size() : engine::decode_step_share(decoding, n_lanes_);
}

// Starts a step on a free lane: the next token of generating requests not in a step (with
// their guesses at what follows, when speculating), then prompt chunks of starting ones in the
// room left.
void BatchScheduler::start_flight() {
    size_t lane = 0;
    while (std::ranges::any_of(flights_, [&](const Flight& f) { return f.lane == lane; })) ++lane;
    const bool overlapped = !flights_.empty();
    Flight& flight = flights_.emplace_back();
    flight.lane = lane;
    const size_t budget = decode_budget();
    size_t taken = 0;
    for (auto& seq : active_)
        if (!seq->in_flight && seq->pending >= 0 && taken++ < budget) {
            add_decode_rows(flight, *seq);
            seq->in_flight = true;
            flight.sequences.push_back(seq.get());
        }
    flight.decoding = flight.row_groups.size();
    for (auto& seq : active_) {
        if (seq->in_flight || seq->done) continue;
        const size_t n_prompt = seq->job.prompt.size();
        if (seq->prefilled < n_prompt && flight.batch.size() < engine::kMaxBatchTokens) {
            seq->in_flight = true;
            flight.sequences.push_back(seq.get());
        }
        while (seq->prefilled < n_prompt && flight.batch.size() < engine::kMaxBatchTokens) {
            flight.prefilling = true;
            const bool last = ++seq->prefilled == n_prompt;
            flight.batch.push_back({.token = seq->job.prompt[seq->prefilled - 1], .slot = seq->slot, .logits = last});
            if (last) flight.row_groups.push_back({seq.get(), flight.next_logits_row(), 1});
        }
    }
    flight.started = std::chrono::steady_clock::now();
    // A bug if it fails (lengths were checked on admission, prompts are not empty): end every
    // request rather than try the same step again.
    if (Status s = session_.start_batch(flight.batch, flight.lane); !s.ok()) {
        flights_.pop_back();
        fail_all("internal error: " + s.error().message());
        return;
    }
    for (Flight& f : flights_) f.overlapped = f.overlapped || overlapped || &f != &flight;
}

void BatchScheduler::finish_flight() {
    Flight flight = std::move(flights_.front());
    flights_.pop_front();
    session_.finish_batch(flight.lane);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - flight.started).count();
    for (Sequence* seq : flight.sequences) seq->in_flight = false;
    // A step's time says what its rows cost only when one request decodes alone in it, and no
    // other step ran beside it.
    const bool timed = !flight.overlapped && flight.decoding == 1 && !flight.prefilling;
    for (size_t g = 0; g < flight.row_groups.size(); ++g) {
        if (g < flight.decoding) {
            take_decode_rows(flight, flight.row_groups[g], seconds, timed);
        } else {
            Sequence& seq = *flight.row_groups[g].seq;
            take_token(seq, seq.sampler.sample(session_.logits_row(flight.row_groups[g].first_row, flight.lane), seq.history),
                       session_.n_past(seq.slot));
        }
    }
    std::lock_guard lock(mutex_);
    for (auto& seq : active_)
        if (seq->done) free_slots_.push_back(seq->slot);
    std::erase_if(active_, [](const auto& seq) { return seq->done; });
    active_count_ = active_.size();
    size_t cells = 0;
    for (const auto& seq : active_) cells += seq->counted_cells = session_.n_past(seq->slot);
    kv_cells_used_ = cells;
}

// The newest token, then as many guesses (prompt lookup, or the slot's draft model) as the
// policy, the request's length limit, its context and the step's room allow.
void BatchScheduler::add_decode_rows(Flight& flight, Sequence& seq) {
    seq.guesses.clear();
    const size_t room = std::min({seq.limit - std::min(seq.limit, seq.generated + 1),
                                  session_.n_ctx() - session_.n_past(seq.slot) - 1,
                                  engine::kMaxBatchTokens - std::min(engine::kMaxBatchTokens, flight.batch.size() + 1),
                                  max_draft_});
    if (room > 0 && session_.can_rewind()) {
        engine::Drafter& drafter = slot_drafters_.empty() ? static_cast<engine::Drafter&>(drafter_) : *slot_drafters_[seq.slot];
        // Guesses only save time: a draft model that fails (its own context full) gives none.
        if (const size_t want = seq.draft_policy.choose(room); want > 0 && !drafter.draft(seq.history, want, seq.guesses).ok())
            seq.guesses.clear();
        seq.guesses.resize(std::min(seq.guesses.size(), room));
    }
    const size_t first_row = flight.next_logits_row();
    flight.batch.push_back({.token = seq.pending, .slot = seq.slot, .logits = true});
    for (int32_t guess : seq.guesses) flight.batch.push_back({.token = guess, .slot = seq.slot, .logits = true});
    flight.row_groups.push_back({&seq, first_row, 1 + seq.guesses.size()});
    seq.pending = -1;
}

// Samples row after row while the guesses hold; the cache then forgets the guesses that did
// not, and keeps the newest token pending as after a plain step.
void BatchScheduler::take_decode_rows(const Flight& flight, const RowGroup& group, double step_seconds, bool timed) {
    Sequence& seq = *group.seq;
    const size_t base = session_.n_past(seq.slot) - group.n_rows;
    size_t taken = 0, held = 0;
    for (size_t row = 0; row < group.n_rows; ++row) {
        take_token(seq, seq.sampler.sample(session_.logits_row(group.first_row + row, flight.lane), seq.history),
                   base + 1 + row);
        ++taken;
        if (seq.done || row >= seq.guesses.size() || seq.pending != seq.guesses[row]) break;
        ++held;
        seq.pending = -1;   // the guess is already in the cache
    }
    if (!seq.done) session_.truncate(base + taken, seq.slot);
    // Rows are taken until a guess fails, so `held` never exceeds the guesses checked.
    const size_t checked = std::min(seq.guesses.size(), taken);
    if (timed) seq.draft_policy.time_step(group.n_rows, step_seconds);
    seq.draft_policy.count_guesses(checked, held);
    if (observer_.on_guesses && checked > 0) observer_.on_guesses(checked, held);
}

void BatchScheduler::take_token(Sequence& seq, int32_t token, size_t n_past) {
    if (!seq.job.ignore_eos && tokenizer_.vocab().is_end_of_generation(token)) return finish(seq, FinishReason::kStop);
    seq.history.push_back(token);
    ++seq.generated;
    if (observer_.on_token) {
        const auto now = std::chrono::steady_clock::now();
        observer_.on_token(seq.generated == 1, std::chrono::duration<double>(now - seq.last_event).count());
        seq.last_event = now;
    }
    seq.channel->push_text(seq.stops.push(seq.decoder.push(token)));
    if (seq.stops.stopped()) return finish(seq, FinishReason::kStop);
    // The token would need a cache position to be evaluated.
    if (seq.generated >= seq.limit || n_past >= session_.n_ctx())
        return finish(seq, FinishReason::kLength);
    seq.pending = token;
}

void BatchScheduler::finish(Sequence& seq, FinishReason reason) {
    seq.channel->push_text(seq.stops.push(seq.decoder.flush()));
    if (seq.stops.stopped()) reason = FinishReason::kStop;
    seq.channel->push_text(seq.stops.flush());
    seq.done = true;
    {
        // Counted as no longer active, and its cache cells as free, before its client can see
        // the end, so /health and /metrics never report a finished request as running (the
        // slot itself is recycled at the step's end).
        std::lock_guard lock(mutex_);
        --active_count_;
        kv_cells_used_ -= seq.counted_cells;
        seq.counted_cells = 0;
    }
    seq.channel->finish(reason, seq.job.prompt.size(), seq.generated);
}

void BatchScheduler::fail_all(const std::string& error) {
    // Steps in flight are receiving into the session's buffers: let them land first.
    for (; !flights_.empty(); flights_.pop_front()) session_.finish_batch(flights_.front().lane);
    std::lock_guard lock(mutex_);
    for (auto& seq : active_) {
        seq->channel->fail(error);
        free_slots_.push_back(seq->slot);
    }
    active_.clear();
    for (Queued& q : queue_) q.channel->fail(error);
    queue_.clear();
    active_count_ = 0;
    kv_cells_used_ = 0;
}

}  // namespace tern::engine

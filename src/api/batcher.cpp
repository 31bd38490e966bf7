// tern::Batcher: the engine's continuous-batching scheduler (engine/batch_scheduler.h) over a
// Model's weights, pool and lock.
#include "tern/batcher.h"

#include <optional>

#include "api/generation_parts.h"
#include "core/str_cat.h"
#include "engine/batch_scheduler.h"

namespace tern {
namespace {

constexpr size_t kMaxBatcherContext = size_t{1} << 20;

}  // namespace

struct Batcher::Impl {
    // The scheduler's session is made and destroyed under the model's lock: under a split its
    // creation and end are messages to the other ranks.
    Impl(std::shared_ptr<Model::State> model_state, std::shared_ptr<Model::State> draft_state,
         const engine::SchedulerOptions& options)
        : state(std::move(model_state)), draft(std::move(draft_state)) {
        std::lock_guard lock(state->compute);
        scheduler.emplace(state->model(), state->loaded.kernels, *state->loaded.tokenizer, state->pool, state->compute,
                          options);
    }
    ~Impl() {
        scheduler->shutdown();   // its thread takes the lock for each step: stopped first
        std::lock_guard lock(state->compute);
        scheduler.reset();
    }

    std::shared_ptr<Model::State> state;   // the weights, kept as long as the batcher
    std::shared_ptr<Model::State> draft;   // the draft model's, when there is one
    std::optional<engine::BatchScheduler> scheduler;
};

Result<Batcher> Model::new_batcher(const BatcherOptions& options) const {
    TERN_TRY(state_->on_leader("new_batcher"));
    TERN_TRY(state_->tokenizer().ok() ? Status{} : Status(state_->tokenizer().error()));
    if (options.slots < 1 || options.slots > 256) return Error(str_cat("batcher: ", options.slots, " slots is outside 1-256"));
    // Unlike a Session, a slot may hold more than the model was trained on (as a server's
    // --ctx may ask); the cap only stops a typo from allocating the machine away.
    if (options.context > kMaxBatcherContext)
        return Error(str_cat("batcher: context ", options.context, " is beyond ", kMaxBatcherContext, " tokens per slot"));
    const size_t context = options.context > 0 ? options.context : state_->context;
    if (context < 2) return Error("batcher: a context of fewer than 2 tokens holds no reply");
    std::shared_ptr<State> draft = options.draft_model != nullptr ? options.draft_model->state_ : nullptr;
    if (draft) {
        if (state_->split) return Error("batcher: a draft model runs in one process only, not under a split");
        if (Status same = engine::check_same_vocabulary(draft->loaded, state_->loaded); !same.ok())
            return same.error().within("draft_model");
    }
    const engine::SchedulerOptions scheduler{
        .n_slots = options.slots, .n_ctx = context, .max_queue = options.max_queue, .kv_type = state_->kv_type,
        .observer = {.on_prompt = options.on_prompt, .on_token = options.on_token, .on_guesses = options.on_guesses},
        .max_draft = options.max_draft, .adaptive_draft = options.adapt_draft, .model_split = state_->model_split(),
        .draft_model = draft ? &draft->model() : nullptr, .draft_kernels = draft ? &draft->loaded.kernels : nullptr};
    return Batcher(std::make_unique<Batcher::Impl>(state_, std::move(draft), scheduler));
}

Batcher::Batcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Batcher::Batcher(Batcher&&) noexcept = default;
Batcher& Batcher::operator=(Batcher&&) noexcept = default;
Batcher::~Batcher() = default;   // Impl's destructor shuts the scheduler down

Result<std::shared_ptr<BatchStream>> Batcher::submit(BatchRequest request) {
    TERN_TRY(api::check_prompt_fits("batcher: the prompt", request.prompt.size(), context()));
    if (Status ids = api::check_token_ids(request.prompt, impl_->state->model().hp.n_vocab); !ids.ok())
        return ids.error().within("batcher");
    return impl_->scheduler->submit({.prompt = std::move(request.prompt), .max_tokens = request.max_tokens,
                                    .sampler = api::sampler_options(request.sampling), .stop = std::move(request.stop),
                                    .ignore_eos = request.ignore_eos});
}

void Batcher::begin_drain() { impl_->scheduler->begin_drain(); }
void Batcher::shutdown() { impl_->scheduler->shutdown(); }

BatcherLoad Batcher::load() const {
    const engine::SchedulerLoad load = impl_->scheduler->load();
    return {.slots = load.n_slots, .active = load.active, .queued = load.queued, .max_queue = load.max_queue,
            .draining = load.draining, .kv_cells_used = impl_->scheduler->kv_cells_used()};
}

size_t Batcher::context() const { return impl_->scheduler->n_ctx(); }
size_t Batcher::kv_cache_bytes() const { return impl_->scheduler->kv_cache_bytes(); }

}  // namespace tern

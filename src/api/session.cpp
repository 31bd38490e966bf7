// tern::Session: one sequence in its own KV cache, sharing the Model's weights and pool.
#include <optional>

#include "api/model_state.h"
#include "core/str_cat.h"
#include "engine/inference_session.h"

namespace tern {

struct Session::Impl {
    // Under a split, creating and destroying a session are messages to the other ranks: they
    // take the model's lock like every computation, so another thread's cannot interleave.
    Impl(std::shared_ptr<Model::State> model_state, size_t context) : state(std::move(model_state)) {
        std::lock_guard lock(state->compute);
        cache.emplace(state->model(), state->loaded.kernels, state->pool, context, 1, state->kv_type,
                      state->model_split());
    }
    ~Impl() {
        std::lock_guard lock(state->compute);
        cache.reset();
    }

    std::shared_ptr<Model::State> state;   // keeps the weights alive as long as the session
    std::optional<engine::InferenceSession> cache;
    engine::InferenceSession& session() { return *cache; }
    const engine::InferenceSession& session() const { return *cache; }
    bool has_logits = false;
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> Session::create(std::shared_ptr<Model::State> state, size_t context) {
    return Session(std::make_unique<Impl>(std::move(state), context));
}

Status Session::evaluate(std::span<const int32_t> tokens) {
    if (tokens.empty()) return {};
    std::lock_guard lock(impl_->state->compute);
    TERN_TRY(impl_->session().evaluate(tokens));
    impl_->has_logits = true;
    return {};
}

std::span<const float> Session::logits() const {
    if (!impl_->has_logits) return {};
    return impl_->session().last_logits();
}

size_t Session::size() const { return impl_->session().n_past(); }
size_t Session::context() const { return impl_->session().n_ctx(); }

Status Session::truncate(size_t n) {
    if (n > size()) return Error(str_cat("truncate: ", n, " tokens asked to keep, the session holds ", size()));
    if (n != 0 && n != size() && !impl_->session().can_rewind())
        return Error(str_cat("truncate: a recurrent model cannot go back to ", n, " tokens (only to 0)"));
    std::lock_guard lock(impl_->state->compute);
    impl_->session().truncate(n);
    impl_->has_logits = false;
    return {};
}

}  // namespace tern

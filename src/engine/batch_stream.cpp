// tern::BatchStream (tern/batcher.h): kept with the scheduler that produces it, in the engine
// library, so that programs linking the engine alone (the tests) have it too.
#include "tern/batcher.h"

namespace tern {

void BatchStream::push_text(const std::string& text) {
    if (text.empty()) return;
    {
        std::lock_guard lock(mutex_);
        pending_.text += text;
    }
    changed_.notify_all();
}

void BatchStream::finish(FinishReason reason, size_t prompt_tokens, size_t completion_tokens) {
    {
        std::lock_guard lock(mutex_);
        pending_.finished = true;
        pending_.finish = reason;
        pending_.prompt_tokens = prompt_tokens;
        pending_.completion_tokens = completion_tokens;
    }
    changed_.notify_all();
}

void BatchStream::fail(std::string error) {
    {
        std::lock_guard lock(mutex_);
        pending_.finished = true;
        pending_.error = std::move(error);
    }
    changed_.notify_all();
}

std::optional<BatchUpdate> BatchStream::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return pending_.finished || !pending_.text.empty(); }))
        return std::nullopt;
    BatchUpdate update = pending_;
    pending_.text.clear();
    return update;
}

BatchUpdate BatchStream::wait_all() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return pending_.finished; });
    return pending_;
}

std::optional<BatchUpdate> BatchStream::wait_all_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return pending_.finished; })) return std::nullopt;
    return pending_;
}

void BatchStream::cancel() { cancelled_.store(true); }

bool BatchStream::cancelled() const { return cancelled_.load(); }

}  // namespace tern

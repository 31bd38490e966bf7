#include "server/generation_channel.h"

namespace tern::server {

void GenerationChannel::push_text(const std::string& text) {
    if (text.empty()) return;
    {
        std::lock_guard lock(mutex_);
        pending_.text += text;
    }
    changed_.notify_all();
}

void GenerationChannel::finish(FinishReason reason, size_t prompt_tokens, size_t completion_tokens) {
    {
        std::lock_guard lock(mutex_);
        pending_.finished = true;
        pending_.reason = reason;
        pending_.prompt_tokens = prompt_tokens;
        pending_.completion_tokens = completion_tokens;
    }
    changed_.notify_all();
}

void GenerationChannel::fail(std::string error) {
    {
        std::lock_guard lock(mutex_);
        pending_.finished = true;
        pending_.error = std::move(error);
    }
    changed_.notify_all();
}

std::optional<GenerationUpdate> GenerationChannel::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return pending_.finished || !pending_.text.empty(); }))
        return std::nullopt;
    GenerationUpdate update = pending_;
    pending_.text.clear();
    return update;
}

GenerationUpdate GenerationChannel::wait_all() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return pending_.finished; });
    return pending_;
}

std::optional<GenerationUpdate> GenerationChannel::wait_all_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return pending_.finished; })) return std::nullopt;
    return pending_;
}

}  // namespace tern::server

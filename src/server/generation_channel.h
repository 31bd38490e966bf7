// The hand-over between the batch scheduler (producer) and the HTTP request that waits for
// the text (consumer). Text accumulates until the consumer takes it; the consumer can cancel
// (client gone), which the scheduler sees before its next step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>

namespace tern::server {

enum class FinishReason { kStop, kLength };

struct GenerationUpdate {
    std::string text;          // new text since the last update
    bool finished = false;
    FinishReason reason = FinishReason::kStop;
    std::string error;         // set when the request failed (server shutting down)
    size_t prompt_tokens = 0;  // with `finished`
    size_t completion_tokens = 0;
};

class GenerationChannel {
public:
    // Producer side.
    void push_text(const std::string& text);
    void finish(FinishReason reason, size_t prompt_tokens, size_t completion_tokens);
    void fail(std::string error);

    // Consumer side: waits up to `timeout` for new text or the end; nullopt when neither came.
    std::optional<GenerationUpdate> next(std::chrono::milliseconds timeout);
    // Waits for the end and returns all the text.
    GenerationUpdate wait_all();
    // The same, waiting at most `timeout`; nullopt when the end has not come.
    std::optional<GenerationUpdate> wait_all_for(std::chrono::milliseconds timeout);
    void cancel() { cancelled_.store(true); }

    bool cancelled() const { return cancelled_.load(); }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    GenerationUpdate pending_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace tern::server

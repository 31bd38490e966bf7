// Continuous batching: many generations decoded together on one model, each joining as soon
// as a slot (a sequence of the KV cache) is free and leaving as soon as it ends, so no request
// waits for the others; every step reads the weights once for all of them. `tern serve` is
// this class under an HTTP front. A request's text does not depend on what it is batched with:
// it is what Model::generate gives its prompt and seed.
//
// Threads: the Batcher runs its own thread, which takes the Model's lock for each step, so
// other calls on the Model run between steps; while the batcher stays busy they compete for
// that lock with its next step and may wait a while (for steady work beside a busy batcher,
// load the model a second time). submit(), load() and the streams may be used from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tern/model.h"
#include "tern/status.h"

namespace tern {

struct BatchRequest {
    std::vector<int32_t> prompt = {};    // token ids: non-empty, shorter than the context
    size_t max_tokens = 0;               // 0: until the context is full
    SamplingOptions sampling = {};
    std::vector<std::string> stop = {};  // the text ends before the first of these
    bool ignore_eos = false;             // generate on through end-of-generation tokens
};

// What a request's stream has to say: the text since the last update, and at the end why it
// ended (kStop: an end token or a stop string; kLength: max_tokens or a full context) and its
// token counts, or an error (the batcher shutting down).
struct BatchUpdate {
    std::string text = {};
    bool finished = false;
    FinishReason finish = FinishReason::kStop;
    std::string error = {};
    size_t prompt_tokens = 0;
    size_t completion_tokens = 0;
};

// One request's text as it is generated: the batcher produces, the caller consumes; cancel()
// (the client went away) ends the request before the batcher's next step.
class BatchStream {
public:
    // Waits up to `timeout` for new text or the end; nullopt when neither came.
    std::optional<BatchUpdate> next(std::chrono::milliseconds timeout);
    // Waits for the end and returns all the text not yet taken by next().
    BatchUpdate wait_all();
    // The same, waiting at most `timeout`; nullopt when the end has not come.
    std::optional<BatchUpdate> wait_all_for(std::chrono::milliseconds timeout);
    void cancel();
    bool cancelled() const;

    // The batcher's side.
    void push_text(const std::string& text);
    void finish(FinishReason reason, size_t prompt_tokens, size_t completion_tokens);
    void fail(std::string error);

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    BatchUpdate pending_;
    std::atomic<bool> cancelled_{false};
};

struct BatcherOptions {
    size_t slots = 4;        // requests generating at once
    size_t context = 0;      // tokens per slot; 0: the model's context (more than it was trained on is allowed)
    size_t max_queue = 16;   // requests waiting for a slot beyond which submit() refuses
    // Speculative decoding per request (the text is unchanged): up to max_draft guesses
    // checked per step, from earlier text (prompt lookup) or from draft_model (a smaller Model
    // with the same vocabulary, drafting on this model's threads); 0: off.
    size_t max_draft = 0;
    bool adapt_draft = true;   // false: check every guess the drafter gives
    const Model* draft_model = nullptr;
    // Called on the batcher's thread (keep them short): a request's prompt admitted to a slot;
    // a token generated, with the time since the request was submitted (its first token) or
    // since its previous token; guesses checked in a step and how many held.
    std::function<void(size_t prompt_tokens)> on_prompt = {};
    std::function<void(bool first, double seconds)> on_token = {};
    std::function<void(size_t checked, size_t held)> on_guesses = {};
};

struct BatcherLoad {
    size_t slots = 0;
    size_t active = 0;      // requests generating
    size_t queued = 0;      // waiting for a slot
    size_t max_queue = 0;
    bool draining = false;  // refusing new requests
    size_t kv_cells_used = 0;   // cache positions in use, all slots (as of the last step)
};

class Batcher {
public:
    Batcher(Batcher&&) noexcept;
    Batcher& operator=(Batcher&&) noexcept;
    ~Batcher();   // shutdown()

    // Queues a request; nullptr when every slot is busy and the queue is full, or draining.
    // Errors: an empty prompt, one that leaves no room in the context, an id outside the
    // vocabulary.
    Result<std::shared_ptr<BatchStream>> submit(BatchRequest request);
    // Refuses new requests from now on; those running and queued go on.
    void begin_drain();
    // Ends every running and queued request with an error and stops the batcher's thread.
    void shutdown();

    BatcherLoad load() const;
    size_t context() const;          // tokens per slot
    size_t kv_cache_bytes() const;   // all slots

private:
    friend class Model;
    struct Impl;
    explicit Batcher(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern

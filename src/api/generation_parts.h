// What generate(), Chat::send and generate_batch() share: the sampler settings, the text of one
// generation as it forms (held back while it could begin a stop string, cut at one), the
// decoding loop, and the timer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "api/model_state.h"
#include "engine/drafter.h"
#include "engine/speculative_generator.h"
#include "sampling/sampler.h"
#include "sampling/stop_matcher.h"
#include "tokenizer/tokenizer.h"

namespace tern::api {

sampling::SamplerOptions sampler_options(const SamplingOptions& s);

double seconds_since(std::chrono::steady_clock::time_point start);

bool cancelled(const GenerateOptions& options);

// A prompt must hold a token and leave room in the context for one more; `what` names it in
// the error ("generate: the prompt", "generate_batch: prompt 2").
Status check_prompt_fits(std::string_view what, size_t tokens, size_t context);

// Every id inside [0, n_vocab); else "token I is id X, outside the vocabulary of N" for the first.
Status check_token_ids(std::span<const int32_t> ids, size_t n_vocab);

// Where guesses come from: nothing, earlier text ("ngram"), or a draft model drafting on its
// own pool into a cache of n_ctx tokens. Errors: both set, an unknown draft, another vocabulary.
Result<std::unique_ptr<engine::Drafter>> make_drafter(const GenerateOptions& options, const Model::State& target,
                                                      Model::State* draft_state, size_t n_ctx);

// The target's computations, and the draft model's when there is one (each has its own pool
// and lock; both are taken at once, so two calls drafting with each other cannot deadlock).
class ComputeLocks {
public:
    ComputeLocks(Model::State& target, Model::State* draft);

private:
    std::unique_lock<FairMutex> target_;
    std::unique_lock<FairMutex> draft_;
};

using TextCallback = std::function<bool(std::string_view piece)>;
using TokenCallback = std::function<bool(int32_t token)>;

// One generation's tokens and text. Text reaches `on_text` as soon as it forms whole characters
// and cannot be the start of a stop string.
class TextSink {
public:
    TextSink(const Model::State& state, const std::vector<std::string>& stop, TextCallback on_text, Generation& out,
             TokenCallback on_token = {});
    // The prompt's text, shown before the generated text (GenerateOptions::echo); SentencePiece's
    // space in front of the first word is not part of what the user typed. False: stop.
    bool echo(std::span<const int32_t> prompt, bool strip_space_prefix);
    // False when the generation must end here (a stop string, or the callback said so; then
    // out.finish says which).
    bool push(int32_t token);
    // The text held back at the end (unless the generation was cancelled).
    void finish();
    bool stopped() const { return stops_.stopped(); }

private:
    bool show(const std::string& text);

    TextCallback on_text_;
    TokenCallback on_token_;
    Generation& out_;
    sampling::StopMatcher stops_;
    const tokenizer::Tokenizer* tokenizer_ = nullptr;   // null: the model has none
    std::optional<tokenizer::StreamingDecoder> decoder_;
};

// The decoding loop of generate() and Chat::send: steps of the generator until an
// end-of-generation token (kept out of the reply), max_tokens, a stop string, cancellation or a
// full context. Each kept token goes to `on_kept`, then to the sink. Starts from out.finish as
// the caller left it (kCancelled: an echo was refused, nothing is decoded); sets out.finish, the
// counts and the drafting statistics. True when an end-of-generation token ended the reply.
Result<bool> decode_reply(engine::SpeculativeGenerator& generator, const tokenizer::Vocabulary* vocab, TextSink& sink,
                          const GenerateOptions& options, Generation& out,
                          const std::function<void(int32_t)>& on_kept = {});

}  // namespace tern::api

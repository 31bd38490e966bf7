// tern's library: load a ternary or complex model once, then generate, chat, score and read
// logits. Everything that can meet bad input returns a Result (tern/status.h) whose error is one
// line naming the problem; nothing here throws or aborts on bad input.
//
// Ownership and threads: a Model is a cheap handle to shared state (copying it shares the
// weights). The weights are immutable after load; the computations of one Model (its own calls
// and those of its Sessions) run one at a time under the Model's lock, each spread over the
// Model's thread pool, so a Model may be used from several threads at once and they take turns.
// A Session keeps the Model's state alive: it stays valid after the Model handle is gone.
// A Session itself must not be used from two threads at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern {

struct LoadOptions {
    int threads = 0;                   // threads of the model's pool; 0: every CPU this process may use
    size_t context = 0;                // tokens a Session holds at most; 0: the model's training context
                                       // (more is allowed, with a warning in ModelInfo::warnings)
    std::string isa = {};              // "" = the best kernels this CPU runs, timed on the model; else
                                       // "scalar", "avx2", "avx512" or "avx512vnni"
    std::string head = {};             // LM head: "" or "auto" converts a 16/32-bit head of 32 MiB or
                                       // more to Q8_0; "keep" the file's type; "q8_0" always;
                                       // "q4_0" or "q6_k" always (fewer bytes than Q8_0, measured
                                       // quality costs); a Q6_K head in the file stays Q6_K
    std::string packing = "2bit";      // ternary weights in memory: "2bit" or "base3"
    std::string weights = {};          // "fairy2i-w1" / "fairy2i-w2": read a LLaMA folder as Fairy2i
    std::string activations = "int8";  // Fairy2i projections: "int8" or "float"
    std::string kv_type = "f32";       // KV cache elements: "f32" or "f16"
    std::string chat_template = {};    // "" = the model's own; or a built-in name, or a Jinja file
    // A Hugging Face Hub name (ORG/NAME or ORG/NAME:FILE, and no such path on disk) is read from
    // the cache huggingface_hub uses (HF_HOME, HF_HUB_CACHE) or downloaded into it (HF_ENDPOINT,
    // HF_TOKEN; never with HF_HUB_OFFLINE set), at this revision: a branch, tag or commit.
    std::string revision = "main";
    // Called on the loading thread as a Hub download goes: the file, its bytes so far, its size.
    std::function<void(std::string_view file, uint64_t done, uint64_t total)> on_download = {};
    // Called (about every 50 ms) while another process downloads the same file and this one waits.
    std::function<void(std::string_view file)> on_download_wait = {};
    // Set (from any thread) to stop a Hub download: load() then fails with a one-line error and
    // the partial file stays in the cache, so the next load resumes it.
    const std::atomic<bool>* cancel = nullptr;
    // Called on the loading thread as the weights are read and repacked: bytes done, total.
    std::function<void(uint64_t done, uint64_t total)> on_progress = {};
    // Under mpirun, a model split over the job's processes (ranks): "rows" (each rank holds and
    // computes its share of every layer's rows, tensor parallel) or "layers" (each rank its
    // contiguous layers, pipeline); the logits are bit for bit those of one process. Every rank
    // calls load() with the same path and options; on rank 0 (ModelInfo::rank) the Model is used
    // as usual, every other rank calls follow(). One split model per process.
    std::string split = {};
    double split_wait_seconds = 60;   // a wait for the other ranks longer than this ends the job
};

struct ModelInfo {
    std::string path = {};           // on disk (a Hub name's file or folder in the cache)
    std::string architecture = {};   // "bitnet-b1.58", "llama", "ifairy", ...
    std::string description = {};    // one line: shape, weight types, head, size, kernels
    std::string kernels = {};        // the kernel table that runs it
    size_t n_vocab = 0;
    size_t n_embd = 0;
    size_t n_layers = 0;
    size_t n_ctx_train = 0;
    size_t context = 0;              // tokens a Session holds
    uint64_t file_bytes = 0;
    int threads = 0;
    bool has_tokenizer = false;
    std::string chat_template = {};  // the template chat() uses ("" without a tokenizer)
    double load_seconds = 0;
    // What a careful user should know: a kernel that disagreed on its load-time check and is
    // not used, a chat template that did not parse and was replaced by a built-in one.
    std::vector<std::string> warnings = {};
    std::string split = {};          // LoadOptions::split
    size_t rank = 0;                 // under a split: this process's rank, of `ranks`
    size_t ranks = 1;
};

struct SamplingOptions {
    float temperature = 0.8f;     // 0: greedy
    int top_k = 40;               // 0: off
    float top_p = 0.95f;          // 1: off
    float min_p = 0.05f;          // 0: off
    float repeat_penalty = 1.0f;  // 1: off; > 1 discourages tokens seen in the last penalty_last_n
    float frequency_penalty = 0;  // subtracted once per occurrence in that window
    float presence_penalty = 0;   // subtracted once when present in that window
    int penalty_last_n = 64;      // 0: penalties off
    float typical_p = 1.0f;       // locally typical sampling; 1: off
    std::map<int32_t, float> logit_bias = {};   // added to a token's logit before sampling
    uint64_t seed = 0;

    bool operator==(const SamplingOptions&) const = default;
};

enum class FinishReason {
    kStop,        // an end-of-generation token or a stop string
    kLength,      // max_tokens, or the context is full
    kCancelled,   // `cancel` was set or on_text returned false
};
std::string_view finish_reason_name(FinishReason reason);   // "stop", "length", "cancelled"

class Model;

struct GenerateOptions {
    size_t max_tokens = 256;
    SamplingOptions sampling;
    std::vector<std::string> stop = {};  // text ends before the first of these; none is ever shown
    // "" = plain decoding; "ngram" = prompt-lookup speculative decoding (same text, faster when
    // the output repeats the input).
    std::string draft = {};
    // Speculative decoding with a smaller model that shares this model's vocabulary: it guesses
    // a few tokens, this model checks them in one step (same text as plain decoding). It must
    // outlive the call; its own thread pool drafts. Not with `draft`.
    const Model* draft_model = nullptr;
    size_t max_draft = 8;      // guesses checked per step at most (1-16)
    bool adapt_draft = true;   // check fewer (or none) while few guesses hold; false: max_draft
    // Called with each piece of text as soon as it forms whole characters; returning false
    // stops the generation (FinishReason::kCancelled). Runs on the calling thread.
    std::function<bool(std::string_view piece)> on_text = {};
    // Set from any thread to stop after the current token (FinishReason::kCancelled).
    const std::atomic<bool>* cancel = nullptr;
    // Called with each generated token id as it is produced (before its text, which may wait for
    // the next tokens to form whole characters); returning false stops as on_text does. For a
    // model without a tokenizer this is how tokens stream.
    std::function<bool(int32_t token)> on_token = {};
    // The prompt's text goes first to on_text and into Generation::text, as OpenAI's `echo`
    // (decoded from its tokens, without the leading space SentencePiece adds).
    bool echo = false;
};

struct Generation {
    std::string text = {};             // empty for a model without a tokenizer: read `tokens`
    std::vector<int32_t> tokens = {};  // generated ids (an end-of-generation token is not included)
    FinishReason finish = FinishReason::kStop;
    size_t prompt_tokens = 0;
    size_t generated_tokens = 0;
    double prompt_seconds = 0;
    double generate_seconds = 0;
    size_t draft_tokens = 0;      // speculative decoding: guesses checked
    size_t accepted_tokens = 0;   // and those that held
    size_t steps = 0;             // forward steps that generated (one per token without drafting)
};

struct ChatMessage {
    std::string role = {};  // "system", "user" or "assistant"
    std::string content = {};
};

struct PerplexityOptions {
    size_t window = 512;    // tokens per chunk (clipped to the context); the second half is scored
    size_t max_chunks = 0;  // 0: every chunk
    // Called once the text is tokenized, before the first chunk: its tokens and the chunks that
    // will be scored.
    std::function<void(size_t text_tokens, size_t chunks)> on_start = {};
};

struct Perplexity {
    double perplexity = 0;
    double uncertainty = 0;  // standard error, in perplexity units
    size_t chunks = 0;
    size_t scored_tokens = 0;
    size_t text_tokens = 0;  // the whole text's
};

struct BenchmarkOptions {
    size_t prompt_tokens = 128;     // pp<N>; 0 skips it
    size_t generate_tokens = 128;   // tg<N>; 0 skips it
    std::vector<int> threads = {};  // empty: the model's thread count (one count under a split)
    int repetitions = 3;
    std::vector<size_t> sequences = {1};   // tg with each count of sequences decoded together (tg<N>x<S>)
    std::vector<size_t> depths = {0};      // tg after each of these context lengths (tg<N>@d<D>)
    // Called before each test is timed: its name ("pp128", "tg128x4") and thread count; and with
    // "read bandwidth" before the bandwidth the report compares against is measured.
    std::function<void(std::string_view test, int threads)> on_test = {};
};

struct ChatOptions {
    std::string system = {};  // the system prompt ("" : none)
    size_t context = 0;       // tokens the conversation holds at most; 0: the model's context
};

class Session;
class Chat;
class Batcher;
struct BatcherOptions;

class Model {
public:
    // A GGUF file, a folder holding a Hugging Face checkpoint (safetensors, config.json and the
    // tokenizer files), or a Hub name (see LoadOptions::revision).
    static Result<Model> load(const std::string& path, const LoadOptions& options = {});
    // A model of a named shape ("tiny", "2b4t", "8b", "ifairy-700m", "hgrn-370m", ... as `tern
    // synth --help` lists) with random weights of a ternary type ("i2_s", "tq2_0", "tq1_0"),
    // built in memory: for benchmarks (`tern bench --synthetic`); its text is noise.
    static Result<Model> synthetic(const std::string& shape, const std::string& ternary_type = "i2_s",
                                   const LoadOptions& options = {});

    const ModelInfo& info() const;

    // Errors: the model has no tokenizer tern reads.
    Result<std::vector<int32_t>> tokenize(std::string_view text, bool add_special = true,
                                          bool parse_special = false) const;
    // Errors: no tokenizer, or an id outside the vocabulary.
    Result<std::string> detokenize(std::span<const int32_t> ids) const;

    // Continues `prompt` (tokenized with BOS; special-token texts in it are parsed).
    Result<Generation> generate(std::string_view prompt, const GenerateOptions& options = {}) const;
    Result<Generation> generate(std::span<const int32_t> prompt_ids, const GenerateOptions& options = {}) const;
    // Several prompts at once, each in its own sequence: every decode step evaluates one token of
    // each unfinished prompt together, so the weights are read once for all of them. Each result
    // is what generate(prompts[i], options) gives, token for token, for any seed. Text goes to
    // on_text(i, piece) (returning false ends prompt i alone); options.on_text and drafting must
    // be unset. options.cancel stops every prompt.
    Result<std::vector<Generation>> generate_batch(
        std::span<const std::string> prompts, const GenerateOptions& options = {},
        const std::function<bool(size_t index, std::string_view piece)>& on_text = {}) const;
    // The assistant's reply to a conversation, rendered with the model's chat template.
    Result<Generation> chat(std::span<const ChatMessage> messages, const GenerateOptions& options = {}) const;
    // The token ids chat() evaluates for a conversation: the template's rendering, with the
    // assistant's turn begun. Errors: no tokenizer, an unknown role, the template refuses it.
    Result<std::vector<int32_t>> chat_prompt(std::span<const ChatMessage> messages) const;

    // Logits after evaluating `ids` from an empty context: [n_vocab] for the last token, or
    // [ids.size()][n_vocab] with all_tokens.
    Result<std::vector<float>> logits(std::span<const int32_t> ids, bool all_tokens = false) const;

    // llama-perplexity's protocol on `text` (see PerplexityOptions).
    // on_chunk sees the estimate after each chunk.
    Result<Perplexity> perplexity(std::string_view text, const PerplexityOptions& options = {},
                                  const std::function<void(const Perplexity& so_far)>& on_chunk = {}) const;

    // `tern bench --json`'s report (pp and tg tokens/s, bytes per token by component, the read
    // bandwidth measured in the same run, and under a split its kind and ranks) as JSON text.
    Result<std::string> benchmark(const BenchmarkOptions& options = {}) const;

    // An empty sequence of up to `context` tokens (0: the model's context, see LoadOptions).
    Result<Session> new_session(size_t context = 0) const;

    // A conversation kept in one KV cache across turns (see Chat).
    Result<Chat> new_chat(const ChatOptions& options = {}) const;

    // Continuous batching of many requests on this model (tern/batcher.h).
    Result<Batcher> new_batcher(const BatcherOptions& options) const;

    // Under a split, on every rank but 0: computes this rank's share of rank 0's work until rank
    // 0's Model is gone (its last handle and session), then returns. A failure here ends the
    // whole job (rank 0 may be waiting on this rank) after one line on stderr naming the rank.
    // Errors: not a follower (no split, or rank 0).
    Status follow() const;

    struct State;  // defined by the library

private:
    friend class Chat;
    friend class Batcher;
    explicit Model(std::shared_ptr<State> state) : state_(std::move(state)) {}
    static State* draft_state(const GenerateOptions& options);   // behind options.draft_model
    std::shared_ptr<State> state_;
};

// A sequence kept in a KV cache (or a recurrent state) across calls.
class Session {
public:
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;
    ~Session();

    // Appends tokens; errors (nothing appended): an id outside the vocabulary, a full context.
    Status evaluate(std::span<const int32_t> tokens);
    // The last evaluated token's logits, [n_vocab]; empty before the first evaluate() and after truncate().
    std::span<const float> logits() const;
    size_t size() const;     // tokens in the sequence
    size_t context() const;  // tokens it can hold
    // Keeps the first n tokens (n <= size()). Recurrent models can only clear (n == 0).
    Status truncate(size_t n);

private:
    friend class Model;
    struct Impl;
    explicit Session(std::unique_ptr<Impl> impl);
    static Result<Session> create(std::shared_ptr<Model::State> state, size_t context);
    std::unique_ptr<Impl> impl_;
};

// A conversation with the model, kept in one KV cache (or recurrent state) across turns, so a
// reply costs only the new message's tokens, not the whole history's. With a Jinja chat
// template the conversation is rendered again each turn and only what changed is evaluated;
// with a built-in format only the new turn is. When a message and the room for its reply
// (GenerateOptions::max_tokens, at most half the context) no longer fit, the conversation
// restarts from the system prompt and restarted() says so. Successive replies with the same
// SamplingOptions continue one random stream, so a conversation is reproducible from its seed.
// `tern chat` is this class. A Chat keeps its Model's state alive; it must not be used from
// two threads at once (its computations take the Model's lock, as every call does).
class Chat {
public:
    Chat(Chat&&) noexcept;
    Chat& operator=(Chat&&) noexcept;
    ~Chat();

    // The assistant's reply to `message`, streamed through options.on_text. Penalties see the
    // reply only; drafting (options.draft or draft_model) guesses from the whole conversation.
    // FinishReason::kLength with fewer than max_tokens means the context is full.
    // Errors: the message cannot fit even after a restart, the template refuses it, a bad option
    // (the conversation is as it was); an engine failure while replying (it restarts).
    Result<Generation> send(std::string_view message, const GenerateOptions& options = {});
    // Starts over from the system prompt.
    Status reset();
    bool restarted() const;   // the last send() restarted the conversation to make room
    size_t size() const;      // tokens in the cache
    size_t context() const;   // tokens it can hold

private:
    friend class Model;
    struct Impl;
    explicit Chat(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern

// `tern run`: loads a model, evaluates the prompt in one batch (GEMM kernels), then samples
// token by token (GEMV kernels), streaming text as soon as it forms whole characters. The
// prompt is text (-p, --file) or, for models without a tokenizer tern reads, token ids (--ids).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/draft_setup.h"
#include "cli/model_setup.h"
#include "cli/split_setup.h"
#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "core/mapped_file.h"
#include "engine/inference_session.h"
#include "sampling/sampler.h"

namespace tern::cli {
namespace {

Result<std::vector<int32_t>> parse_ids(const std::string& text) {
    std::vector<int32_t> ids;
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(word, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != word.size() || v < 0 || v > INT32_MAX)
            return Error(str_cat("--ids: '", word, "' is not a token id (a non-negative integer)"));
        ids.push_back(static_cast<int32_t>(v));
    }
    if (ids.empty()) return Error("--ids: no token ids given");
    return ids;
}

Result<std::vector<int32_t>> prompt_tokens(const RunOptions& options, const LoadedModel& lm) {
    const int given = !options.ids.empty() + !options.prompt.empty() + !options.prompt_file.empty();
    if (given != 1) return Error("give exactly one of -p PROMPT, -f FILE or --ids IDS");
    if (!options.ids.empty()) return parse_ids(options.ids);
    std::string text = options.prompt;
    if (!options.prompt_file.empty()) {
        TERN_ASSIGN_OR_RETURN(text, read_text_file(options.prompt_file, size_t{64} << 20));
    }
    TERN_ASSIGN_OR_RETURN(const tokenizer::Tokenizer* tok, lm.require_tokenizer());
    std::vector<int32_t> ids = tok->encode(text, /*add_special=*/true, /*parse_special=*/true);
    if (ids.empty()) return Error("the prompt is empty");
    return ids;
}

// Prints generated tokens: as text when there is a tokenizer, else as ids.
class TokenPrinter {
public:
    explicit TokenPrinter(const LoadedModel& lm) {
        if (lm.tokenizer) decoder_.emplace(*lm.tokenizer);
    }
    void print(int32_t id) {
        if (decoder_) {
            std::fputs(decoder_->push(id).c_str(), stdout);
        } else {
            std::printf("%s%d", first_ ? "" : " ", id);
        }
        first_ = false;
        std::fflush(stdout);
    }
    void finish() {
        if (decoder_) std::fputs(decoder_->flush().c_str(), stdout);
        std::printf("\n");
        std::fflush(stdout);   // before the speed line on stderr
    }

private:
    std::optional<tokenizer::StreamingDecoder> decoder_;
    bool first_ = true;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int default_thread_count() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

int run_run(const RunOptions& options) {
    Result<std::unique_ptr<SplitRun>> split = SplitRun::start(options.split);
    if (!split.ok()) return report_failure(split.error().message());
    const std::unique_ptr<SplitRun>& job = split.value();
    const int threads = thread_count(job, options.threads);
    const ModelRequest request = {.isa = options.isa, .threads = threads, .head = options.head, .packing = options.packing,
                                  .weights = options.weights, .activations = options.activations};
    Result<LoadedModel> loaded = load_model_for_run(options.model, for_this_rank(job, request));
    if (const std::optional<int> done = settle_split(job, loaded, threads)) return *done;
    if (!loaded.ok()) return report_failure(loaded.error().message());
    const LoadedModel& lm = loaded.value();
    Result<std::vector<int32_t>> prompt = prompt_tokens(options, lm);
    if (!prompt.ok()) return report_failure(prompt.error().message());
    std::fprintf(stderr, "%s: %s; loaded in %.2f s\n", options.model.c_str(), describe(lm).c_str(), lm.load_seconds);

    ThreadPool pool(threads);
    const size_t n_ctx = options.n_ctx > 0 ? options.n_ctx : lm.model.hp.n_ctx_train;
    engine::InferenceSession session(lm.model, lm.kernels, pool, n_ctx, 1, options.kv_type, model_split_of(job));
    if (prompt.value().size() + options.n_predict > n_ctx)
        return report_failure(str_cat("prompt (", prompt.value().size(), " tokens) + -n ", options.n_predict,
                                      " exceeds the context of ", n_ctx, " tokens"));
    Result<DraftSetup> draft = make_draft_setup(options.draft, lm, pool, n_ctx, request);
    if (!draft.ok()) return report_failure(draft.error().message());
    const auto prompt_start = std::chrono::steady_clock::now();
    if (Status s = session.evaluate(prompt.value()); !s.ok()) return report_failure(s.error().message());
    const double prompt_seconds = seconds_since(prompt_start);

    TokenPrinter printer(lm);
    if (!options.no_echo && lm.tokenizer) {
        std::string echo = lm.tokenizer->decode(prompt.value());
        // SentencePiece adds a space in front of the text; it is not part of what the user typed.
        if (lm.tokenizer->vocab().add_space_prefix && echo.starts_with(' ')) echo.erase(0, 1);
        std::fputs(echo.c_str(), stdout);
        std::fflush(stdout);
    }
    sampling::Sampler sampler(options.sampler);
    const auto gen_start = std::chrono::steady_clock::now();
    // Penalties see the whole sequence, prompt included.
    engine::SpeculativeGenerator generator(session, sampler, draft.value().drafter.get(), prompt.value(), 0,
                                           draft.value().generator_options);
    size_t generated = 0;
    for (bool ended = false; !ended && generated < options.n_predict;) {
        Result<std::span<const int32_t>> step = generator.next(options.n_predict - generated);
        if (!step.ok()) return report_failure(step.error().message());
        for (const int32_t next : step.value()) {
            if (lm.tokenizer && lm.tokenizer->vocab().is_end_of_generation(next)) {
                ended = true;
                break;
            }
            printer.print(next);
            ++generated;
        }
    }
    printer.finish();
    const double gen_seconds = seconds_since(gen_start);
    std::fprintf(stderr, "prompt: %zu tokens in %.1f ms (%.1f tok/s); generation: %zu tokens in %.1f ms (%.1f tok/s)\n",
                 prompt.value().size(), prompt_seconds * 1e3, prompt.value().size() / prompt_seconds, generated,
                 gen_seconds * 1e3, generated > 0 ? generated / gen_seconds : 0.0);
    if (const std::string line = describe_speculation(draft.value(), generator.stats()); !line.empty())
        std::fprintf(stderr, "%s\n", line.c_str());
    return 0;
}

}  // namespace tern::cli

// `tern run`: loads a model, evaluates the prompt in one batch (GEMM kernels), then decodes
// greedily token by token (GEMV kernels), streaming each token as soon as it exists.
// Until the tokenizer lands the prompt is given as token ids.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/model_setup.h"
#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "engine/inference_session.h"

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

int32_t argmax(std::span<const float> logits) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int default_thread_count() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

void add_run_command(CLI::App& app, RunOptions& options) {
    CLI::App* run = app.add_subcommand("run", "Generate text from a prompt");
    run->add_option("-m,--model", options.model, "Model file (GGUF)")->required();
    run->add_option("--ids", options.ids, "Prompt as token ids separated by spaces")->required();
    run->add_option("-n,--n-predict", options.n_predict, "Tokens to generate")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    run->add_option("-t,--threads", options.threads, "Threads (default: all cores)")->check(CLI::Range(1, 512));
    run->add_option("-c,--ctx", options.n_ctx, "Context length (default: the model's)")->check(CLI::Range(0, 1 << 22));
    run->add_option("--isa", options.isa, "Kernels: scalar, avx2, avx512, avx512vnni (default: fastest)");
}

int run_run(const RunOptions& options) {
    Result<std::vector<int32_t>> prompt = parse_ids(options.ids);
    if (!prompt.ok()) return report_failure(prompt.error().message());
    const int threads = options.threads > 0 ? options.threads : default_thread_count();
    Result<LoadedModel> loaded = load_model_for_run(options.model, options.isa, threads);
    if (!loaded.ok()) return report_failure(loaded.error().message());
    const LoadedModel& lm = loaded.value();
    std::fprintf(stderr, "%s: %s; loaded in %.2f s\n", options.model.c_str(), describe(lm).c_str(), lm.load_seconds);

    ThreadPool pool(threads);
    const size_t n_ctx = options.n_ctx > 0 ? options.n_ctx : lm.model.hp.n_ctx_train;
    engine::InferenceSession session(lm.model, *lm.kernels, pool, n_ctx);
    if (prompt.value().size() + options.n_predict > n_ctx)
        return report_failure(str_cat("prompt (", prompt.value().size(), " tokens) + -n ", options.n_predict,
                                      " exceeds the context of ", n_ctx, " tokens"));
    const auto prompt_start = std::chrono::steady_clock::now();
    if (Status s = session.evaluate(prompt.value()); !s.ok()) return report_failure(s.error().message());
    const double prompt_seconds = seconds_since(prompt_start);

    const auto gen_start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < options.n_predict; ++i) {
        const int32_t next = argmax(session.last_logits());
        std::printf("%s%d", i ? " " : "", next);
        std::fflush(stdout);
        if (i + 1 < options.n_predict) {
            if (Status s = session.evaluate(std::span(&next, 1)); !s.ok()) return report_failure(s.error().message());
        }
    }
    std::printf("\n");
    const double gen_seconds = seconds_since(gen_start);
    const double decode_steps = options.n_predict > 1 ? static_cast<double>(options.n_predict - 1) : 0.0;
    std::fprintf(stderr, "prompt: %zu tokens in %.1f ms (%.1f tok/s); generation: %zu tokens in %.1f ms (%.1f tok/s)\n",
                 prompt.value().size(), prompt_seconds * 1e3, prompt.value().size() / prompt_seconds, options.n_predict,
                 gen_seconds * 1e3, decode_steps > 0 ? decode_steps / gen_seconds : 0.0);
    return 0;
}

}  // namespace tern::cli

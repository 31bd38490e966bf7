// `tern perplexity`: llama-perplexity's estimate (engine/perplexity.h) on a text file.
#include <cstdio>

#include "cli/commands.h"
#include "cli/model_setup.h"
#include "cli/split_setup.h"
#include "core/mapped_file.h"
#include "core/str_cat.h"
#include "engine/perplexity.h"

namespace tern::cli {

int run_perplexity(const PerplexityOptions& options) {
    Result<std::unique_ptr<SplitRun>> split = SplitRun::start(options.split);
    if (!split.ok()) return report_failure(split.error().message());
    const std::unique_ptr<SplitRun>& job = split.value();
    const int threads = thread_count(job, options.threads);
    const ModelRequest request = {.isa = options.isa, .threads = threads, .head = options.head,
                                  .packing = options.packing, .weights = options.weights,
                                  .activations = options.activations};
    Result<LoadedModel> loaded = load_model_for_run(options.model, for_this_rank(job, request));
    if (const std::optional<int> done = settle_split(job, loaded, threads)) return *done;
    if (!loaded.ok()) return report_failure(loaded.error().message());
    const LoadedModel& lm = loaded.value();
    // After the split settles: only the leader reads the text (a follower may have no copy).
    Result<std::string> text = read_text_file(options.file, size_t{1} << 30);
    if (!text.ok()) return report_failure(text.error().message());
    Result<const tokenizer::Tokenizer*> tok = lm.require_tokenizer();
    if (!tok.ok()) return report_failure(tok.error().message());
    if (options.n_ctx > lm.model.hp.n_ctx_train)
        return report_failure(str_cat("perplexity: -c ", options.n_ctx, " exceeds the model's context of ",
                                      lm.model.hp.n_ctx_train, " tokens"));
    const std::vector<int32_t> tokens = tok.value()->encode(text.value(), /*add_special=*/true, /*parse_special=*/false);
    const tokenizer::Vocabulary& vocab = tok.value()->vocab();
    std::fprintf(stderr, "%s: %zu tokens, %zu chunks of %zu\n", options.file.c_str(), tokens.size(),
                 tokens.size() / options.n_ctx, options.n_ctx);
    ThreadPool pool(threads);
    engine::InferenceSession session(lm.model, lm.kernels, pool, options.n_ctx, 1, options.kv_type,
                                     model_split_of(job));
    auto on_chunk = [](const engine::PerplexityResult& r) {
        std::printf("[%zu]%.4f,", r.chunks, r.perplexity);
        std::fflush(stdout);
    };
    Result<engine::PerplexityResult> result = engine::compute_perplexity(
        session, tokens, options.n_ctx, vocab.add_bos ? vocab.bos : -1, options.max_chunks, on_chunk);
    if (!result.ok()) return report_failure(str_cat("perplexity: ", result.error().message()));
    std::printf("\nFinal estimate: PPL = %.4f +/- %.5f (%zu chunks, %zu scored tokens)\n", result.value().perplexity,
                result.value().uncertainty, result.value().chunks, result.value().scored_tokens);
    return 0;
}

}  // namespace tern::cli

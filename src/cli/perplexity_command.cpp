// `tern perplexity`: llama-perplexity's estimate on a text file, through the public library
// (tern::Model::perplexity).
#include <cstdio>

#include "cli/commands.h"
#include "cli/library_model.h"
#include "core/mapped_file.h"
#include "core/str_cat.h"

namespace tern::cli {

int run_perplexity(const PerplexityOptions& options) {
    Result<Model> loaded = load_for_command(options.model, load_options_from(options));
    if (!loaded.ok()) return report_failure(loaded.error().message());
    const Model& model = loaded.value();
    if (model.info().rank > 0) return follow_rank_zero(model);
    // Only rank 0 reads the text (a follower may have no copy).
    Result<std::string> text = read_text_file(options.file, size_t{1} << 30);
    if (!text.ok()) return report_failure(text.error().message());
    if (!model.info().has_tokenizer) return report_failure(model.tokenize("").error().message());
    if (options.n_ctx > model.info().n_ctx_train)
        return report_failure(str_cat("perplexity: -c ", options.n_ctx, " exceeds the model's context of ",
                                      model.info().n_ctx_train, " tokens"));
    auto on_start = [&](size_t text_tokens, size_t chunks) {
        std::fprintf(stderr, "%s: %zu tokens, %zu chunks of %zu\n", options.file.c_str(), text_tokens, chunks,
                     options.n_ctx);
    };
    auto on_chunk = [&](const Perplexity& so_far) {
        std::printf("[%zu]%.4f,", so_far.chunks, so_far.perplexity);
        std::fflush(stdout);
    };
    Result<Perplexity> result = model.perplexity(
        text.value(), {.window = options.n_ctx, .max_chunks = options.max_chunks, .on_start = on_start}, on_chunk);
    if (!result.ok()) return report_failure(result.error().message());
    std::printf("\nFinal estimate: PPL = %.4f +/- %.5f (%zu chunks, %zu scored tokens)\n", result.value().perplexity,
                result.value().uncertainty, result.value().chunks, result.value().scored_tokens);
    return 0;
}

}  // namespace tern::cli

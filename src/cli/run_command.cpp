// `tern run`: loads a model, evaluates the prompt in one batch (GEMM kernels), then samples
// token by token (GEMV kernels), streaming text as soon as it forms whole characters. The
// prompt is text (-p, --file) or, for models without a tokenizer tern reads, token ids (--ids).
// Everything goes through the public library (include/tern/model.h).
#include <algorithm>
#include <cstdio>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/library_model.h"
#include "core/mapped_file.h"
#include "core/str_cat.h"

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

Result<std::vector<int32_t>> prompt_tokens(const RunOptions& options, const Model& model) {
    const int given = !options.ids.empty() + !options.prompt.empty() + !options.prompt_file.empty();
    if (given != 1) return Error("give exactly one of -p PROMPT, -f FILE or --ids IDS");
    if (!options.ids.empty()) return parse_ids(options.ids);
    std::string text = options.prompt;
    if (!options.prompt_file.empty()) {
        TERN_ASSIGN_OR_RETURN(text, read_text_file(options.prompt_file, size_t{64} << 20));
    }
    TERN_ASSIGN_OR_RETURN(std::vector<int32_t> ids, model.tokenize(text, /*add_special=*/true, /*parse_special=*/true));
    if (ids.empty()) return Error("the prompt is empty");
    return ids;
}

}  // namespace

int default_thread_count() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

int run_run(const RunOptions& options) {
    LoadOptions load = load_options_from(options);
    load.context = options.n_ctx;
    Result<Model> loaded = load_for_command(options.model, load);
    if (!loaded.ok()) return report_failure(loaded.error().message());
    const Model& model = loaded.value();
    if (model.info().rank > 0) return follow_rank_zero(model);
    Result<std::vector<int32_t>> prompt = prompt_tokens(options, model);
    if (!prompt.ok()) return report_failure(prompt.error().message());
    std::fprintf(stderr, "%s: %s; loaded in %.2f s\n", options.model.c_str(), model.info().description.c_str(),
                 model.info().load_seconds);
    const size_t n_ctx = model.info().context;
    if (prompt.value().size() + options.n_predict > n_ctx)
        return report_failure(str_cat("prompt (", prompt.value().size(), " tokens) + -n ", options.n_predict,
                                      " exceeds the context of ", n_ctx, " tokens"));
    Result<std::optional<Model>> draft_model = load_draft_model(options.draft, model, load);
    if (!draft_model.ok()) return report_failure(draft_model.error().message());

    GenerateOptions generate{.max_tokens = options.n_predict, .sampling = options.sampler};
    apply_draft(options.draft, draft_model.value(), generate);
    generate.echo = !options.no_echo;
    generate.on_text = [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    };
    if (!model.info().has_tokenizer)   // the ids themselves, as they come
        generate.on_token = [first = true](int32_t id) mutable {
            std::printf("%s%d", first ? "" : " ", id);
            std::fflush(stdout);
            first = false;
            return true;
        };
    Result<Generation> out = model.generate(prompt.value(), generate);
    if (!out.ok()) return report_failure(out.error().message());
    std::printf("\n");
    std::fflush(stdout);   // before the speed line on stderr
    const Generation& g = out.value();
    std::fprintf(stderr, "prompt: %zu tokens in %.1f ms (%.1f tok/s); generation: %zu tokens in %.1f ms (%.1f tok/s)\n",
                 g.prompt_tokens, g.prompt_seconds * 1e3, g.prompt_tokens / g.prompt_seconds, g.generated_tokens,
                 g.generate_seconds * 1e3, g.generated_tokens > 0 ? g.generated_tokens / g.generate_seconds : 0.0);
    if (!options.draft.source.empty())
        std::fprintf(stderr, "speculative: %zu guesses checked, %zu held (%d %%), %zu tokens in %zu steps\n",
                     g.draft_tokens, g.accepted_tokens,
                     static_cast<int>(100.0 * g.accepted_tokens / std::max<size_t>(g.draft_tokens, 1) + 0.5),
                     g.generated_tokens, g.steps);
    return 0;
}

}  // namespace tern::cli

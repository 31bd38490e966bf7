#include "cli/draft_setup.h"

#include "core/str_cat.h"
#include "engine/draft_model_drafter.h"
#include "engine/prompt_lookup_drafter.h"

namespace tern::cli {

Result<LoadedModel> load_draft_model(const std::string& source, const LoadedModel& target, const ModelRequest& request) {
    Result<LoadedModel> draft = load_model_for_run(source, request);
    if (!draft.ok()) return draft.error().within("--draft");
    if (Status same = engine::check_same_vocabulary(draft.value(), target); !same.ok()) return same.error().within("--draft");
    return draft;
}

Result<DraftSetup> make_draft_setup(const DraftOptions& options, const LoadedModel& target, ThreadPool& pool,
                                    size_t n_ctx, const ModelRequest& request) {
    DraftSetup setup;
    setup.generator_options = {.max_draft = options.max_tokens, .adaptive = !options.fixed};
    if (target.tokenizer) {
        const tokenizer::Vocabulary* vocab = &target.tokenizer->vocab();
        setup.generator_options.ends_generation = [vocab](int32_t id) { return vocab->is_end_of_generation(id); };
    }
    if (options.source.empty()) return setup;
    if (options.source == "ngram") {
        setup.drafter = std::make_unique<engine::PromptLookupDrafter>();
        return setup;
    }
    TERN_ASSIGN_OR_RETURN(LoadedModel draft, load_draft_model(options.source, target, request));
    setup.draft_model = std::make_unique<LoadedModel>(std::move(draft));
    setup.drafter = std::make_unique<engine::DraftModelDrafter>(setup.draft_model->model, setup.draft_model->kernels,
                                                                pool, n_ctx);
    return setup;
}

std::string describe_speculation(const DraftSetup& setup, const engine::SpeculativeStats& stats) {
    if (!setup.drafter) return {};
    return str_cat("speculative: ", stats.drafted, " guesses checked, ", stats.accepted, " held (",
                   static_cast<int>(100.0 * stats.acceptance() + 0.5), " %), ", stats.emitted, " tokens in ",
                   stats.steps + (stats.emitted > 0 ? 1 : 0), " steps");
}

}  // namespace tern::cli

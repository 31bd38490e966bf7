#include "cli/library_model.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "cli/download_progress.h"

namespace tern::cli {
namespace {

constexpr uint64_t kShowProgressAbove = uint64_t{64} << 20;

// A percentage on stderr while a large model repacks, when stderr is a terminal.
void show_repacking(LoadOptions& options, const std::string& what) {
    if (!isatty(STDERR_FILENO)) return;
    options.on_progress = [what](uint64_t done, uint64_t total) {
        if (total < kShowProgressAbove) return;
        std::fprintf(stderr, "\rloading %s: %3d%%", what.c_str(), static_cast<int>(100.0 * done / total));
        if (done == total) std::fprintf(stderr, "\r%*s\r", static_cast<int>(what.size()) + 16, "");
    };
}

}  // namespace


Result<Model> load_for_command(const std::string& model, LoadOptions options) {
    show_repacking(options, model);
    DownloadProgress downloads;
    options.on_download = downloads.reporter();
    options.on_download_wait = downloads.wait_reporter();
    Result<Model> loaded = Model::load(model, options);
    downloads.finish();
    if (loaded.ok())
        for (const std::string& warning : loaded.value().info().warnings)
            std::fprintf(stderr, "tern: warning: %s\n", warning.c_str());
    return loaded;
}

Result<std::optional<Model>> load_draft_model(const DraftOptions& draft, const Model& target, LoadOptions options) {
    if (draft.source.empty() || draft.source == "ngram") return std::optional<Model>();
    options.split.clear();
    options.context = 0;
    options.chat_template.clear();
    options.threads = target.info().threads;
    Result<Model> loaded = load_for_command(draft.source, options);
    if (!loaded.ok()) return loaded.error().within("--draft");
    return std::optional<Model>(std::move(loaded).value());
}

void apply_draft(const DraftOptions& draft, const std::optional<Model>& draft_model, GenerateOptions& options) {
    options.draft = draft.source == "ngram" ? "ngram" : "";
    options.draft_model = draft_model ? &*draft_model : nullptr;
    options.max_draft = draft.max_tokens;
    options.adapt_draft = !draft.fixed;
}

int follow_rank_zero(const Model& model) {
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);
    const Status followed = model.follow();
    return followed.ok() ? 0 : report_failure(followed.error().message());
}

}  // namespace tern::cli

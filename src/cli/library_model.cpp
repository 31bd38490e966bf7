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
    Result<Model> loaded = Model::load(model, options);
    downloads.finish();
    if (loaded.ok())
        for (const std::string& warning : loaded.value().info().warnings)
            std::fprintf(stderr, "tern: warning: %s\n", warning.c_str());
    return loaded;
}

int follow_rank_zero(const Model& model) {
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);
    const Status followed = model.follow();
    return followed.ok() ? 0 : report_failure(followed.error().message());
}

}  // namespace tern::cli

// `tern pull ORG/NAME[:FILE or glob] [--revision R]`: fetches a model from the Hugging Face
// Hub into the cache huggingface_hub shares, and prints the path to give -m.
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "cli/download_progress.h"
#include "hub/pull.h"

namespace tern::cli {

int run_pull(const PullOptions& options) {
    Result<hub::RepoSpec> spec = hub::parse_repo_spec(options.spec);
    if (!spec.ok()) return report_failure(spec.error().message());
    const hub::HubSettings settings = hub::HubSettings::from_environment([](const char* name) { return std::getenv(name); });
    DownloadProgress progress;
    Result<hub::PulledRepo> pulled = hub::pull(hub::HubClient(settings), spec.value(), options.revision, progress.callback());
    progress.finish();
    if (!pulled.ok()) return report_failure(pulled.error().message());
    const hub::PulledRepo& repo = pulled.value();
    std::fprintf(stderr, "tern pull: %s@%.12s: %zu file%s (%zu downloaded, %zu already cached)\n", spec.value().repo_id.c_str(),
                 repo.commit.c_str(), repo.files.size(), repo.files.size() == 1 ? "" : "s", repo.fetched.size(),
                 repo.files.size() - repo.fetched.size());
    std::printf("%s\n", repo.model_path().c_str());
    return 0;
}

}  // namespace tern::cli

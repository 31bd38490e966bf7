// tern::pull: the Hub client (src/hub/) behind the public API.
#include "tern/hub.h"

#include <cstdlib>

#include "hub/pull.h"

namespace tern {

Result<PulledModel> pull(const std::string& spec_text, const PullOptions& options) {
    TERN_ASSIGN_OR_RETURN(const hub::RepoSpec spec, hub::parse_repo_spec(spec_text));
    const hub::HubSettings settings = hub::HubSettings::from_environment([](const char* name) { return std::getenv(name); });
    const hub::ProgressCallback progress = [&](const hub::DownloadProgress& p) {
        if (p.waiting && options.on_wait) options.on_wait(p.path);
        if (!p.waiting && options.on_download) options.on_download(p.path, p.done, p.total);
        return options.cancel == nullptr || !options.cancel->load();
    };
    TERN_ASSIGN_OR_RETURN(const hub::PulledRepo repo, hub::pull(hub::HubClient(settings), spec, options.revision, progress));
    return PulledModel{.path = repo.model_path().string(), .commit = repo.commit, .files = repo.files,
                       .downloaded = repo.fetched.size()};
}

}  // namespace tern

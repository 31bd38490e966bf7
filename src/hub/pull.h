// `tern pull` and `-m ORG/NAME`: which files of a repository a model needs, fetched into the
// shared cache (or found there), and the local path to load.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/hub_client.h"
#include "hub/repo_spec.h"
#include "tern/status.h"

namespace tern::hub {

struct PulledRepo {
    std::string commit;
    std::filesystem::path snapshot_dir;
    std::vector<std::string> files;     // the selected files, all present under snapshot_dir
    std::vector<std::string> fetched;   // those downloaded now (the rest were cached)

    // What to load: the one GGUF file when that is what was selected, else the folder.
    std::filesystem::path model_path() const;
};

// The files a spec selects from a repository's list: the named file or the glob's matches;
// without a pattern, the repository's one GGUF file (an error names them when there are
// several), else a Hugging Face folder without the duplicates a loader never reads (PyTorch
// .bin beside .safetensors, original/ checkpoints, ONNX, TF, Flax).
Result<std::vector<std::string>> select_files(const std::vector<std::string>& files, const RepoSpec& spec);

// Downloads what the cache lacks (messages such as "fetching X" go to `note`).
Result<PulledRepo> pull(const HubClient& client, const RepoSpec& spec, std::string_view revision,
                        const ProgressCallback& progress);

// The cached snapshot of a revision, without the network; an error says what is missing.
Result<PulledRepo> find_cached(const HubSettings& settings, const RepoSpec& spec, std::string_view revision);

// A model path for `-m ORG/NAME[:FILE]` at a revision ("main", a branch, tag or commit): the
// cache when it has the files, else a pull (unless HF_HUB_OFFLINE).
Result<std::filesystem::path> resolve_model(const HubSettings& settings, std::string_view spec_text,
                                            std::string_view revision, const ProgressCallback& progress);

// What a model argument names on disk: `source` itself, or for a Hub name (looks_like_repo_spec)
// resolve_model's path with the settings of this process's environment.
Result<std::string> local_model_path(const std::string& source, std::string_view revision,
                                     const ProgressCallback& progress);

}  // namespace tern::hub

// The Hugging Face cache as huggingface_hub lays it out, so downloads are shared both ways:
//   HF_HUB_CACHE/models--ORG--NAME/blobs/ETAG            the files' bytes, named by their etag
//                                  snapshots/COMMIT/PATH  relative symlinks to the blobs
//                                  refs/REVISION          the commit a branch or tag names
// Settings come from the environment as huggingface_hub reads it: HF_ENDPOINT, HF_HOME,
// HF_HUB_CACHE, HF_TOKEN (or HF_HOME/token), HF_HUB_OFFLINE.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern::hub {

struct HubSettings {
    std::string endpoint = "https://huggingface.co";
    std::filesystem::path cache_dir;   // HF_HUB_CACHE
    std::string token;                 // "" = anonymous
    bool offline = false;

    // From the environment; `getenv` is a parameter so tests can supply their own.
    static HubSettings from_environment(const std::function<const char*(const char*)>& getenv);
};

class RepoCache {
public:
    RepoCache(const std::filesystem::path& cache_dir, std::string_view repo_id);

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path blob_path(std::string_view etag) const { return root_ / "blobs" / std::string(etag); }
    std::filesystem::path incomplete_path(std::string_view etag) const {
        return root_ / "blobs" / (std::string(etag) + ".incomplete");
    }
    std::filesystem::path snapshot_dir(std::string_view commit) const { return root_ / "snapshots" / std::string(commit); }
    // HF_HUB_CACHE/.locks/models--ORG--NAME/ETAG.lock, where huggingface_hub locks a download.
    std::filesystem::path lock_path(std::string_view etag) const {
        return root_.parent_path() / ".locks" / root_.filename() / (std::string(etag) + ".lock");
    }

    // The commit a revision names: the revision itself when it is a 40-hex commit, else refs/.
    std::optional<std::string> commit_for(std::string_view revision) const;
    Status write_ref(std::string_view revision, std::string_view commit) const;
    // snapshots/COMMIT/PATH -> ../../blobs/ETAG (relative, as huggingface_hub makes it).
    Status link_snapshot(std::string_view commit, std::string_view path, std::string_view etag) const;

private:
    std::filesystem::path root_;
};

// "W/\"abc\"" -> "abc": the Hub's ETag header as the cache names blobs.
std::string normalize_etag(std::string_view etag);
bool is_commit_hash(std::string_view revision);

}  // namespace tern::hub

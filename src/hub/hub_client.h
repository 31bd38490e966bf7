// Talks to the Hugging Face Hub (or HF_ENDPOINT) over HTTP(S) with cpp-httplib and OpenSSL:
// the file list of a revision, each file's metadata (commit, etag, size, where its bytes are),
// and downloads into the cache that resume an interrupted transfer (HTTP Range), follow
// redirects (the token goes to the Hub only, never to a CDN), check the size and the etag's
// hash, and never leave a partial file under its final name.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/hub_cache.h"
#include "tern/status.h"

namespace tern::hub {

struct RepoListing {
    std::string commit;
    std::vector<std::string> files;
};

struct FileMetadata {
    std::string path;           // inside the repository
    std::string commit;
    std::string etag;           // normalized: the blob's name in the cache
    uint64_t size = 0;
    std::string download_url;   // where the bytes are (the Hub or a CDN it redirects to)
};

struct DownloadProgress {
    std::string_view path;
    uint64_t done = 0;
    uint64_t total = 0;
    bool waiting = false;   // another process is downloading this blob; this one waits for it
};
// Called as bytes arrive (and every 50 ms while waiting for another process's download);
// returning false stops the download with an error, the partial file kept for a resume.
using ProgressCallback = std::function<bool(const DownloadProgress&)>;

class HubClient {
public:
    explicit HubClient(HubSettings settings) : settings_(std::move(settings)) {}

    Result<RepoListing> list_files(std::string_view repo_id, std::string_view revision) const;
    Result<FileMetadata> file_metadata(std::string_view repo_id, std::string_view revision, std::string_view path) const;
    // Downloads into cache.blob_path(etag) through cache.incomplete_path(etag), resuming a
    // partial file and retrying a dropped connection a few times, under the blob's download
    // lock. False when no bytes were needed: another process put the blob in place meanwhile.
    Result<bool> download(const FileMetadata& file, const RepoCache& cache, const ProgressCallback& progress) const;

    const HubSettings& settings() const { return settings_; }

private:
    HubSettings settings_;
};

}  // namespace tern::hub

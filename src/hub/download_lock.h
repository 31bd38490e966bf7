// The lock huggingface_hub takes before it downloads a blob: an exclusive flock on
// HF_HUB_CACHE/.locks/models--ORG--NAME/ETAG.lock (Python's filelock uses flock on Unix). Taking
// the same lock means two tern pulls, or tern and a Python tool sharing the cache, never write one
// .incomplete file at once; the second waits, then finds the blob in place.
#pragma once

#include <filesystem>
#include <functional>

#include "tern/status.h"

namespace tern::hub {

class DownloadLock {
public:
    // Blocks until the lock is free. While another process holds it, `keep_waiting` is asked
    // every 50 ms (when given); false gives up with an error.
    static Result<DownloadLock> acquire(const std::filesystem::path& path, const std::function<bool()>& keep_waiting);

    DownloadLock(DownloadLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    DownloadLock& operator=(DownloadLock&&) = delete;
    DownloadLock(const DownloadLock&) = delete;
    DownloadLock& operator=(const DownloadLock&) = delete;
    ~DownloadLock();

private:
    explicit DownloadLock(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace tern::hub

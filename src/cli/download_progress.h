// The progress line of Hub downloads on stderr: file, percent, bytes, speed and time left;
// redrawn in place on a terminal, one line per file otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "hub/hub_client.h"
#include "tern/status.h"

namespace tern::cli {

class DownloadProgress {
public:
    DownloadProgress();
    // Callbacks for the public API's on_download and on_download_wait; at most ten lines a second.
    std::function<void(std::string_view file, uint64_t done, uint64_t total)> reporter();
    std::function<void(std::string_view file)> wait_reporter();
    // Ends the current file's line.
    void finish();

private:
    void report(const hub::DownloadProgress& p);

    bool terminal_;
    std::string file_;
    std::string waiting_for_;   // the file whose wait for another process was reported
    uint64_t start_bytes_ = 0;
    uint64_t last_done_ = 0;
    uint64_t last_total_ = 0;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace tern::cli

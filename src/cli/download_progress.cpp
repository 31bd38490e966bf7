#include "cli/download_progress.h"

#include <unistd.h>

#include <cstdio>


namespace tern::cli {
namespace {

std::string bytes_text(double bytes) {
    char out[32];
    if (bytes >= 1e9) std::snprintf(out, sizeof out, "%.2f GB", bytes / 1e9);
    else if (bytes >= 1e6) std::snprintf(out, sizeof out, "%.1f MB", bytes / 1e6);
    else std::snprintf(out, sizeof out, "%.0f kB", bytes / 1e3);
    return out;
}

}  // namespace

DownloadProgress::DownloadProgress() : terminal_(isatty(STDERR_FILENO) != 0) {}

std::function<void(std::string_view, uint64_t, uint64_t)> DownloadProgress::reporter() {
    return [this](std::string_view file, uint64_t done, uint64_t total) {
        report({.path = file, .done = done, .total = total, .waiting = false});
    };
}

std::function<void(std::string_view)> DownloadProgress::wait_reporter() {
    return [this](std::string_view file) { report({.path = file, .done = 0, .total = 0, .waiting = true}); };
}

void DownloadProgress::report(const hub::DownloadProgress& p) {
    if (p.waiting) {
        if (waiting_for_ == p.path) return;   // said once per file
        finish();
        waiting_for_ = std::string(p.path);
        std::fprintf(stderr, "%.*s  another process is downloading it; waiting\n", static_cast<int>(p.path.size()), p.path.data());
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (p.path != file_) {
        finish();
        file_ = std::string(p.path);
        started_ = now;
        start_bytes_ = p.done;
        last_draw_ = {};
    }
    last_done_ = p.done;
    last_total_ = p.total;
    if (!terminal_ || (now - last_draw_ < std::chrono::milliseconds(100) && p.done < p.total)) return;
    last_draw_ = now;
    const double seconds = std::chrono::duration<double>(now - started_).count();
    const double speed = seconds > 0 ? static_cast<double>(p.done - start_bytes_) / seconds : 0;
    const double left = speed > 0 ? static_cast<double>(p.total - p.done) / speed : 0;
    const double percent = p.total > 0 ? 100.0 * static_cast<double>(p.done) / static_cast<double>(p.total) : 100.0;
    std::fprintf(stderr, "\r\033[K%s  %3.0f%%  %s / %s  %s/s  %d:%02d left", file_.c_str(), percent,
                 bytes_text(static_cast<double>(p.done)).c_str(), bytes_text(static_cast<double>(p.total)).c_str(),
                 bytes_text(speed).c_str(), static_cast<int>(left) / 60, static_cast<int>(left) % 60);
    std::fflush(stderr);
}

void DownloadProgress::finish() {
    if (file_.empty()) return;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const double speed = seconds > 0 ? static_cast<double>(last_done_ - start_bytes_) / seconds : 0;
    std::fprintf(stderr, "%s%s  %s in %.1f s (%s/s)\n", terminal_ ? "\r\033[K" : "", file_.c_str(),
                 bytes_text(static_cast<double>(last_total_)).c_str(), seconds, bytes_text(speed).c_str());
    file_.clear();
}

}  // namespace tern::cli

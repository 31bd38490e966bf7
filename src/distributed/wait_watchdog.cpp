#include "distributed/wait_watchdog.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "core/str_cat.h"

namespace tern::distributed {
namespace {

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void report_and_exit(const std::string& report) {
    std::fprintf(stderr, "tern: %s\n", report.c_str());
    std::fflush(stderr);
    std::_Exit(1);   // no destructors: the other threads may be inside MPI
}

}  // namespace

WaitWatchdog::WaitWatchdog(std::chrono::milliseconds limit, size_t rank, std::function<void(const std::string&)> on_expiry)
    : limit_(limit), rank_(rank), on_expiry_(on_expiry ? std::move(on_expiry) : report_and_exit) {
    thread_ = std::thread([this] { watch(); });
}

WaitWatchdog::~WaitWatchdog() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_requested_.notify_all();
    thread_.join();
}

WaitWatchdog::Scope::Scope(WaitWatchdog* watchdog, const char* what) : watchdog_(watchdog) {
    if (watchdog_ == nullptr) return;
    watchdog_->what_.store(what, std::memory_order_relaxed);
    watchdog_->wait_started_ns_.store(now_ns(), std::memory_order_release);
}

WaitWatchdog::Scope::~Scope() {
    if (watchdog_ != nullptr) watchdog_->wait_started_ns_.store(0, std::memory_order_release);
}

void WaitWatchdog::watch() {
    // Checked a few times per limit: a stuck wait is reported at most a quarter late.
    const auto period = std::clamp(limit_ / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    std::unique_lock lock(mutex_);
    while (!stop_requested_.wait_for(lock, period, [this] { return stopping_; })) {
        const int64_t started = wait_started_ns_.load(std::memory_order_acquire);
        if (started == 0 || now_ns() - started < std::chrono::nanoseconds(limit_).count()) continue;
        const double seconds = std::chrono::duration<double>(limit_).count();
        on_expiry_(str_cat("rank ", rank_, ": waited ", seconds, " s for the other ranks (", what_.load(),
                           "); one of them has stopped or its host is unreachable: ending the job "
                           "(--split-timeout sets the limit)"));
        wait_started_ns_.store(0, std::memory_order_release);   // reported once (tests go on)
    }
}

}  // namespace tern::distributed

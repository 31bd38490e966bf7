// Bounds how long a rank waits for the others. MPI gives its collectives no timeout: a rank
// that is stopped (SIGSTOP, a debugger, swapped out) or whose host dropped off the network
// leaves every other rank waiting forever. Each wait inside a step is marked with a Scope; a
// thread of the watchdog's own checks the open one and, past the limit, reports which wait it
// was and ends the process (mpirun then ends the job). It makes no MPI call itself, so it
// needs no more thread support than the job already has.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace tern::distributed {

class WaitWatchdog {
public:
    // `on_expiry` gets the one-line report; the default prints it and ends the process with
    // status 1. Tests pass their own.
    WaitWatchdog(std::chrono::milliseconds limit, size_t rank, std::function<void(const std::string&)> on_expiry = {});
    ~WaitWatchdog();
    WaitWatchdog(const WaitWatchdog&) = delete;
    WaitWatchdog& operator=(const WaitWatchdog&) = delete;

    // Marks one wait, from construction to destruction. Waits do not nest (one thread talks
    // to the other ranks at a time).
    class Scope {
    public:
        Scope(WaitWatchdog* watchdog, const char* what);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        WaitWatchdog* watchdog_;
    };

private:
    void watch();

    const std::chrono::milliseconds limit_;
    const size_t rank_;
    std::function<void(const std::string&)> on_expiry_;
    std::atomic<int64_t> wait_started_ns_{0};   // 0: no wait open
    std::atomic<const char*> what_{nullptr};
    std::mutex mutex_;
    std::condition_variable stop_requested_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace tern::distributed

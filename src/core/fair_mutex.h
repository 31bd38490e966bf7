// A mutex that hands itself over in the order it was asked for (a ticket lock). The model's
// compute lock is one: the server's scheduler releases it between steps and asks again at
// once, and a std::mutex may give it straight back, so that another caller on the same model
// (a library user's generate(), an embedding) waits until the server is idle. With tickets, a
// caller waiting when a step ends goes next. Lockable, so std::lock_guard, std::unique_lock and
// std::lock work with it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace tern {

class FairMutex {
public:
    void lock();
    bool try_lock();
    void unlock();
    // Callers waiting in lock() (not counting the holder).
    size_t waiting() const;

private:
    mutable std::mutex mutex_;
    std::condition_variable turn_;
    uint64_t next_ticket_ = 0;   // the ticket the next lock() takes
    uint64_t serving_ = 0;       // the ticket that holds the lock, or may take it
};

}  // namespace tern

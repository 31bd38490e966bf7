#include "core/fair_mutex.h"

namespace tern {

void FairMutex::lock() {
    std::unique_lock lock(mutex_);
    const uint64_t ticket = next_ticket_++;
    turn_.wait(lock, [&] { return serving_ == ticket; });
}

bool FairMutex::try_lock() {
    std::lock_guard lock(mutex_);
    if (next_ticket_ != serving_) return false;   // held, or others are waiting for it
    ++next_ticket_;
    return true;
}

size_t FairMutex::waiting() const {
    std::lock_guard lock(mutex_);
    const uint64_t taken = next_ticket_ - serving_;   // the holder's ticket and the waiters'
    return taken == 0 ? 0 : static_cast<size_t>(taken - 1);
}

void FairMutex::unlock() {
    // Notified under the lock: a waiter that wakes cannot finish with (and destroy) this mutex
    // before notify_all() is done with it.
    std::lock_guard lock(mutex_);
    ++serving_;
    turn_.notify_all();
}

}  // namespace tern

// The model's compute lock hands itself over in the order it was asked for: a thread that
// releases it and asks again at once (the server's scheduler between steps) goes after the
// threads already waiting, where a std::mutex may give it straight back.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "core/fair_mutex.h"

namespace tern {
namespace {

bool wait_for_waiting(const FairMutex& m, size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (m.waiting() < n)
        if (std::chrono::steady_clock::now() > deadline) return false;
        else std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return true;
}

TEST(FairMutex, AThreadAskingAgainGoesAfterTheOneWaiting) {
    FairMutex m;
    m.lock();
    std::atomic<bool> waiter_ran{false};
    std::thread waiter([&] {
        std::lock_guard lock(m);
        waiter_ran = true;
    });
    EXPECT_TRUE(wait_for_waiting(m, 1));
    m.unlock();
    m.lock();   // asks again at once, as the scheduler does between steps
    EXPECT_TRUE(waiter_ran);
    m.unlock();
    waiter.join();
    EXPECT_EQ(m.waiting(), 0u);
}

TEST(FairMutex, WaitersGetItInTheOrderTheyAsked) {
    FairMutex m;
    m.lock();
    std::vector<int> order;   // written under the lock
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] {
            std::lock_guard lock(m);
            order.push_back(i);
        });
        EXPECT_TRUE(wait_for_waiting(m, static_cast<size_t>(i) + 1));
    }
    m.unlock();
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(FairMutex, TryLockTakesItOnlyWhenNobodyHoldsOrWaits) {
    FairMutex m;
    ASSERT_TRUE(m.try_lock());
    EXPECT_FALSE(m.try_lock());
    std::thread waiter([&] { std::lock_guard lock(m); });
    EXPECT_TRUE(wait_for_waiting(m, 1));
    m.unlock();
    waiter.join();
    EXPECT_TRUE(m.try_lock());
    m.unlock();
    // Two of them at once, as a generation with a draft model takes both models' locks.
    FairMutex other;
    std::unique_lock a(m, std::defer_lock), b(other, std::defer_lock);
    std::lock(a, b);
    EXPECT_FALSE(m.try_lock());
    EXPECT_FALSE(other.try_lock());
}

}  // namespace
}  // namespace tern

#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace tern {
namespace {

TEST(ThreadPool, RunOnAllCallsEveryThreadOnceAndWaits) {
    for (int n : {1, 2, 3, 5}) {
        ThreadPool pool(n);
        EXPECT_EQ(pool.size(), n);
        for (int round = 0; round < 200; ++round) {
            std::vector<std::atomic<int>> calls(static_cast<size_t>(n));
            pool.run_on_all([&](int idx) { calls[static_cast<size_t>(idx)].fetch_add(1); });
            for (auto& c : calls) ASSERT_EQ(c.load(), 1);
        }
    }
}

TEST(ThreadPool, ParallelForCoversEveryItemOnce) {
    ThreadPool pool(3);
    for (size_t n_items : {0, 1, 2, 7, 100, 1001}) {
        for (size_t granule : {1, 4, 64}) {
            std::vector<std::atomic<int>> seen(n_items);
            pool.parallel_for(n_items, granule, [&](size_t begin, size_t end) {
                EXPECT_EQ(begin % granule, 0u);
                for (size_t i = begin; i < end; ++i) seen[i].fetch_add(1);
            });
            for (auto& s : seen) ASSERT_EQ(s.load(), 1);
        }
    }
}

TEST(ThreadPool, DynamicParallelForHandsOutEveryBlockOnce) {
    for (int n_threads : {1, 3}) {
        ThreadPool pool(n_threads);
        for (size_t n_items : {0, 1, 7, 100, 1001}) {
            for (size_t block : {1, 8, 2000}) {
                std::vector<std::atomic<int>> seen(n_items);
                std::atomic<int> bad_calls{0};
                pool.parallel_for_dynamic(n_items, block, [&](int thread_idx, size_t begin, size_t end) {
                    // Blocks start on multiples of `block`, are full except the last, never empty.
                    const bool well_formed = thread_idx >= 0 && thread_idx < n_threads && begin % block == 0 &&
                                             begin < end && end == std::min(n_items, begin + block);
                    if (!well_formed) bad_calls.fetch_add(1);
                    for (size_t i = begin; i < end; ++i) seen[i].fetch_add(1);
                });
                EXPECT_EQ(bad_calls.load(), 0) << n_items << " items, blocks of " << block;
                for (auto& s : seen) ASSERT_EQ(s.load(), 1);
            }
        }
    }
}

TEST(ThreadPool, DynamicParallelForLetsAFreeThreadTakeASlowThreadsShare) {
    // One block never finishes until the other thread has done all the rest: an even split
    // would deadlock here (each thread owning half), the dynamic one cannot.
    ThreadPool pool(2);
    constexpr size_t kItems = 64;
    std::atomic<size_t> done{0};
    pool.parallel_for_dynamic(kItems, 1, [&](int, size_t begin, size_t end) {
        if (begin == 0)
            while (done.load() < kItems - 1) std::this_thread::yield();
        done.fetch_add(end - begin);
    });
    EXPECT_EQ(done.load(), kItems);
}

TEST(ThreadPool, SplitIsBalancedInGranules) {
    // 10 granules over 3 threads: 4, 3, 3.
    EXPECT_EQ(split_range(40, 4, 3, 0).begin, 0u);
    EXPECT_EQ(split_range(40, 4, 3, 0).end, 16u);
    EXPECT_EQ(split_range(40, 4, 3, 1).end, 28u);
    EXPECT_EQ(split_range(40, 4, 3, 2).end, 40u);
    // The last granule is partial.
    EXPECT_EQ(split_range(9, 4, 2, 1).begin, 8u);
    EXPECT_EQ(split_range(9, 4, 2, 1).end, 9u);
    // More threads than granules: the extra threads get empty ranges.
    EXPECT_EQ(split_range(4, 4, 3, 2).begin, split_range(4, 4, 3, 2).end);
}

TEST(ThreadPool, WorkersWakeAfterSleeping) {
    ThreadPool pool(2);
    std::atomic<int> total{0};
    pool.run_on_all([&](int) { total.fetch_add(1); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));   // past the spin window
    pool.run_on_all([&](int) { total.fetch_add(1); });
    EXPECT_EQ(total.load(), 4);
}

}  // namespace
}  // namespace tern

#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
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

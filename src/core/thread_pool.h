// A fixed pool of worker threads tuned for decode latency: between jobs the workers spin on
// an atomic generation counter for a short while (a forward pass issues hundreds of small
// jobs per token, and waking a sleeping thread costs tens of microseconds), then sleep.
// The calling thread always takes part as worker 0, so a pool of 1 runs everything inline.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tern {

class ThreadPool {
public:
    // n_threads >= 1 counts the caller; n_threads - 1 workers are started.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls job(thread_idx) once on each of the size() threads and returns when all have
    // finished. Not reentrant: one run at a time, from one caller thread.
    void run_on_all(const std::function<void(int thread_idx)>& job);

    // Splits [0, n_items) into size() contiguous ranges whose boundaries are multiples of
    // `granule` (the last range takes the remainder) and calls fn(begin, end) for each
    // non-empty range. The split depends only on n_items, granule and size().
    void parallel_for(size_t n_items, size_t granule, const std::function<void(size_t begin, size_t end)>& fn);

    // Calls fn(thread_idx, begin, end) for consecutive blocks of `block` items (the last may
    // be shorter) covering [0, n_items), each block once, claimed in turn by whichever thread
    // is free. Balances jobs of uneven cost, or threads running at unequal speed (a busy
    // neighbour on a shared host); which thread gets a block varies from run to run, so fn
    // must write only the outputs of its own items (thread_idx picks per-thread scratch).
    void parallel_for_dynamic(size_t n_items, size_t block,
                              const std::function<void(int thread_idx, size_t begin, size_t end)>& fn);

private:
    void worker_loop(int thread_idx);

    int n_threads_;
    std::vector<std::thread> workers_;
    const std::function<void(int)>* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<int> sleepers_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
};

// The range of thread `thread_idx` out of n_threads when splitting n_items in granules.
struct ItemRange {
    size_t begin = 0;
    size_t end = 0;
};
ItemRange split_range(size_t n_items, size_t granule, int n_threads, int thread_idx);

}  // namespace tern

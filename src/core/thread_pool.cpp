#include "core/thread_pool.h"

#include <algorithm>

#include "core/check.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TERN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define TERN_CPU_RELAX() asm volatile("yield")
#else
#define TERN_CPU_RELAX() ((void)0)
#endif

namespace tern {
namespace {

// About 100-200 microseconds of spinning: longer than the gap between the jobs of one
// forward pass, short enough that an idle pool stops burning a core almost at once.
constexpr int kSpinIterations = 1 << 14;

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    stopping_.store(true);
    {
        std::lock_guard lock(mutex_);
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::worker_loop(int thread_idx) {
    uint64_t seen = 0;
    for (;;) {
        uint64_t current = generation_.load(std::memory_order_acquire);
        for (int spin = 0; current == seen && spin < kSpinIterations; ++spin) {
            TERN_CPU_RELAX();
            current = generation_.load(std::memory_order_acquire);
        }
        if (current == seen) {
            std::unique_lock lock(mutex_);
            sleepers_.fetch_add(1);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
            sleepers_.fetch_sub(1);
            current = generation_.load();
        }
        seen = current;
        if (stopping_.load()) return;
        (*job_)(thread_idx);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::run_on_all(const std::function<void(int)>& job) {
    if (n_threads_ == 1) {
        job(0);
        return;
    }
    job_ = &job;
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    // seq_cst on both sides: either a worker about to sleep sees the new generation, or we
    // see it counted in sleepers_ and wake it.
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) {
        std::lock_guard lock(mutex_);
        wake_.notify_all();
    }
    job(0);
    while (pending_.load(std::memory_order_acquire) != 0) TERN_CPU_RELAX();
}

ItemRange split_range(size_t n_items, size_t granule, int n_threads, int thread_idx) {
    TERN_CHECK(granule > 0 && n_threads > 0 && thread_idx >= 0 && thread_idx < n_threads);
    const size_t n_granules = (n_items + granule - 1) / granule;
    const size_t threads = static_cast<size_t>(n_threads), idx = static_cast<size_t>(thread_idx);
    const size_t base = n_granules / threads, extra = n_granules % threads;
    const size_t first = idx * base + std::min(idx, extra);
    const size_t count = base + (idx < extra ? 1 : 0);
    return {std::min(n_items, first * granule), std::min(n_items, (first + count) * granule)};
}

void ThreadPool::parallel_for(size_t n_items, size_t granule, const std::function<void(size_t, size_t)>& fn) {
    run_on_all([&](int thread_idx) {
        const ItemRange range = split_range(n_items, granule, n_threads_, thread_idx);
        if (range.begin < range.end) fn(range.begin, range.end);
    });
}

void ThreadPool::parallel_for_dynamic(size_t n_items, size_t block,
                                      const std::function<void(int, size_t, size_t)>& fn) {
    TERN_CHECK(block > 0);
    std::atomic<size_t> next_block{0};
    const size_t n_blocks = (n_items + block - 1) / block;
    run_on_all([&](int thread_idx) {
        for (size_t b = next_block.fetch_add(1, std::memory_order_relaxed); b < n_blocks;
             b = next_block.fetch_add(1, std::memory_order_relaxed))
            fn(thread_idx, b * block, std::min(n_items, (b + 1) * block));
    });
}

}  // namespace tern

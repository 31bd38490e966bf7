#include "core/memory_bandwidth.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "core/cpu_info.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tern {
namespace {

// Reads every byte of [begin, end); the returned value keeps the loads from being elided.
uint64_t read_range(const std::byte* begin, const std::byte* end) {
#if defined(__SSE2__)
    // Four independent accumulators keep several cache lines in flight; SSE2 is the x86-64
    // baseline, and one core's read rate is bound by line-fill buffers, not load width.
    __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
    for (const std::byte* p = begin; p + 64 <= end; p += 64) {
        a0 = _mm_xor_si128(a0, _mm_load_si128(reinterpret_cast<const __m128i*>(p)));
        a1 = _mm_xor_si128(a1, _mm_load_si128(reinterpret_cast<const __m128i*>(p + 16)));
        a2 = _mm_xor_si128(a2, _mm_load_si128(reinterpret_cast<const __m128i*>(p + 32)));
        a3 = _mm_xor_si128(a3, _mm_load_si128(reinterpret_cast<const __m128i*>(p + 48)));
    }
    const __m128i all = _mm_xor_si128(_mm_xor_si128(a0, a1), _mm_xor_si128(a2, a3));
    uint64_t lanes[2];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes), all);
    return lanes[0] ^ lanes[1];
#else
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (const std::byte* p = begin; p + 32 <= end; p += 32) {
        uint64_t v[4];
        std::memcpy(v, p, sizeof v);
        a0 ^= v[0]; a1 ^= v[1]; a2 ^= v[2]; a3 ^= v[3];
    }
    return a0 ^ a1 ^ a2 ^ a3;
#endif
}

uint64_t default_buffer_bytes() {
    uint64_t largest_cache = 0;
    for (const CacheLevel& cache : detect_cpu_info().caches) largest_cache = std::max(largest_cache, cache.size_bytes);
    return std::clamp<uint64_t>(largest_cache * 8, 64ull << 20, 512ull << 20);
}

struct AlignedFree {
    void operator()(std::byte* p) const { std::free(p); }
};

}  // namespace

BandwidthResult measure_read_bandwidth(const BandwidthOptions& options) {
    using Clock = std::chrono::steady_clock;
    const int threads = std::max(1, options.threads);
    uint64_t bytes = options.buffer_bytes != 0 ? options.buffer_bytes : default_buffer_bytes();
    bytes = std::max<uint64_t>(bytes / (64ull * threads) * 64ull * threads, 64ull * threads);
    std::unique_ptr<std::byte, AlignedFree> buffer(static_cast<std::byte*>(std::aligned_alloc(64, bytes)));
    if (!buffer) return {};
    // Non-zero fill so the pages are really backed (zero pages would all map one frame).
    std::memset(buffer.get(), 0x5a, bytes);

    const uint64_t slice = bytes / threads;
    std::atomic<uint64_t> sink{0};
    std::atomic<bool> stop{false};
    BandwidthResult result{0.0, bytes, threads, 0};
    std::barrier sync(threads + 1);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const std::byte* begin = buffer.get() + slice * t;
            while (true) {
                sync.arrive_and_wait();  // pass starts
                if (stop.load()) return;
                sink.fetch_xor(read_range(begin, begin + slice));
                sync.arrive_and_wait();  // pass ends
            }
        });
    }
    const auto deadline = Clock::now() + std::chrono::duration<double>(options.seconds);
    for (int pass = 0;; ++pass) {
        const auto start = Clock::now();
        sync.arrive_and_wait();
        sync.arrive_and_wait();
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        if (pass > 0) {  // pass 0 warms TLBs and caches
            result.gb_per_s = std::max(result.gb_per_s, static_cast<double>(bytes) / elapsed / 1e9);
            ++result.passes;
        }
        if (pass > 1 && Clock::now() >= deadline) break;
    }
    stop.store(true);
    sync.arrive_and_wait();
    for (auto& worker : workers) worker.join();
    return result;
}

}  // namespace tern

#include "core/memory_bandwidth.h"

#include <algorithm>
#include <array>
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
#include <xmmintrin.h>
#endif

namespace tern {
namespace {

// Reads every byte of [begin, end) as `streams` equal sub-ranges walked side by side (a line
// of each in turn), so that many lines are in flight and each stream gets a hardware
// prefetcher; `prefetch_nta` also asks for the lines 1 KiB ahead as non-temporal. The returned
// value keeps the loads from being elided. `end - begin` is a multiple of 64 * streams.
template <int streams, bool prefetch_nta>
uint64_t read_streams(const std::byte* begin, const std::byte* end) {
    const size_t lines = static_cast<size_t>(end - begin) / (64 * streams);
#if defined(__SSE2__)
    // SSE2 is the x86-64 baseline; one core's read rate is bound by line fills, not load width.
    __m128i acc[streams];
    for (__m128i& a : acc) a = _mm_setzero_si128();
    for (size_t line = 0; line < lines; ++line) {
        for (int s = 0; s < streams; ++s) {
            const std::byte* p = begin + (static_cast<size_t>(s) * lines + line) * 64;
            if constexpr (prefetch_nta) _mm_prefetch(reinterpret_cast<const char*>(p + 1024), _MM_HINT_NTA);
            const __m128i* v = reinterpret_cast<const __m128i*>(p);
            acc[s] = _mm_xor_si128(acc[s], _mm_xor_si128(_mm_xor_si128(_mm_load_si128(v), _mm_load_si128(v + 1)),
                                                         _mm_xor_si128(_mm_load_si128(v + 2), _mm_load_si128(v + 3))));
        }
    }
    __m128i all = _mm_setzero_si128();
    for (const __m128i& a : acc) all = _mm_xor_si128(all, a);
    uint64_t lanes[2];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes), all);
    return lanes[0] ^ lanes[1];
#else
    uint64_t acc[streams] = {};
    for (size_t line = 0; line < lines; ++line)
        for (int s = 0; s < streams; ++s) {
            uint64_t v[8];
            std::memcpy(v, begin + (static_cast<size_t>(s) * lines + line) * 64, sizeof v);
            acc[s] ^= v[0] ^ v[1] ^ v[2] ^ v[3] ^ v[4] ^ v[5] ^ v[6] ^ v[7];
        }
    uint64_t all = 0;
    for (uint64_t a : acc) all ^= a;
    return all;
#endif
}

struct ReadMethod {
    std::string_view name;
    uint64_t (*read)(const std::byte*, const std::byte*);
};

constexpr std::array<ReadMethod, 4> kMethods = {{
    {"1 stream", &read_streams<1, false>},
    {"4 streams", &read_streams<4, false>},
    {"8 streams", &read_streams<8, false>},
    {"4 streams + prefetchnta", &read_streams<4, true>},
}};

uint64_t default_buffer_bytes() {
    uint64_t largest_cache = 0;
    for (const CacheLevel& cache : detect_cpu_info().caches) largest_cache = std::max(largest_cache, cache.size_bytes);
    return std::clamp<uint64_t>(largest_cache * 4, 256ull << 20, 2ull << 30);
}

struct AlignedFree {
    void operator()(std::byte* p) const { std::free(p); }
};

}  // namespace

BandwidthResult measure_read_bandwidth(const BandwidthOptions& options) {
    using Clock = std::chrono::steady_clock;
    const int threads = std::max(1, options.threads);
    // Every thread's slice splits into up to 8 streams of whole lines.
    const uint64_t granule = 64ull * 8 * static_cast<uint64_t>(threads);
    uint64_t bytes = options.buffer_bytes != 0 ? options.buffer_bytes : default_buffer_bytes();
    bytes = std::max<uint64_t>(bytes / granule * granule, granule);
    std::unique_ptr<std::byte, AlignedFree> buffer(static_cast<std::byte*>(std::aligned_alloc(64, bytes)));
    if (!buffer) return {};
    // Non-zero fill so the pages are really backed (zero pages would all map one frame).
    std::memset(buffer.get(), 0x5a, bytes);

    const uint64_t slice = bytes / static_cast<uint64_t>(threads);
    std::atomic<uint64_t> sink{0};
    std::atomic<size_t> method{0};
    std::atomic<bool> stop{false};
    std::barrier sync(threads + 1);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const std::byte* begin = buffer.get() + slice * static_cast<uint64_t>(t);
            while (true) {
                sync.arrive_and_wait();  // pass starts
                if (stop.load()) return;
                sink.fetch_xor(kMethods[method.load()].read(begin, begin + slice));
                sync.arrive_and_wait();  // pass ends
            }
        });
    }
    auto timed_pass = [&](size_t m) {
        method.store(m);
        const auto start = Clock::now();
        sync.arrive_and_wait();
        sync.arrive_and_wait();
        return static_cast<double>(bytes) / std::chrono::duration<double>(Clock::now() - start).count() / 1e9;
    };
    // Passes alternate between the loops, so a host that speeds up or slows down during the
    // measurement moves them all alike.
    std::array<std::vector<double>, kMethods.size()> rates;
    for (size_t m = 0; m < kMethods.size(); ++m) (void)timed_pass(m);   // warm TLBs and caches
    const auto deadline = Clock::now() + std::chrono::duration<double>(options.seconds);
    do {
        for (size_t m = 0; m < kMethods.size(); ++m) rates[m].push_back(timed_pass(m));
    } while (rates[0].size() < 3 || Clock::now() < deadline);
    stop.store(true);
    sync.arrive_and_wait();
    for (auto& worker : workers) worker.join();

    BandwidthResult result{.gb_per_s = 0.0, .min_gb_per_s = 0.0, .max_gb_per_s = 0.0, .method = {},
                           .buffer_bytes = bytes, .threads = threads, .passes = 0};
    for (size_t m = 0; m < kMethods.size(); ++m) {
        std::vector<double>& r = rates[m];
        std::sort(r.begin(), r.end());
        const double median = r[r.size() / 2];
        if (median <= result.gb_per_s) continue;
        result.gb_per_s = median;
        result.min_gb_per_s = r.front();
        result.max_gb_per_s = r.back();
        result.method = kMethods[m].name;
        result.passes = static_cast<int>(r.size());
    }
    return result;
}

}  // namespace tern

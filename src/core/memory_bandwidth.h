// Measures the machine's memory read bandwidth with STREAM-like read loops over a buffer much
// larger than the last-level cache. Decode speed is bound by this number, so `tern info` and
// `tern bench` report it and compare against it. One read loop can under-read: a single stream
// per thread leaves a core's line-fill buffers idle on some CPUs (an Intel Xeon read 19.7 GB/s
// that way while a GEMV in the same run streamed 25). So several loops are timed, each in
// alternating passes, and the best is reported with the spread of its passes.
#pragma once

#include <cstdint>
#include <string_view>

namespace tern {

struct BandwidthOptions {
    uint64_t buffer_bytes = 0;   // 0: 4x the largest cache, clamped to [256 MiB, 2 GiB]
    int threads = 1;
    double seconds = 0.4;        // time spent reading, after one warm-up pass of each loop
};

struct BandwidthResult {
    double gb_per_s = 0.0;       // 1e9 bytes per second: the best loop's median pass
    double min_gb_per_s = 0.0;   // that loop's slowest and fastest passes (the spread)
    double max_gb_per_s = 0.0;
    std::string_view method;     // that loop: "1 stream", "4 streams", "8 streams", "4 streams + prefetchnta"
    uint64_t buffer_bytes = 0;
    int threads = 0;
    int passes = 0;              // timed passes of that loop
};

BandwidthResult measure_read_bandwidth(const BandwidthOptions& options);

}  // namespace tern

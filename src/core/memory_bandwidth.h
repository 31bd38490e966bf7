// Measures the machine's memory read bandwidth with a STREAM-like read loop over a buffer
// much larger than the last-level cache. Decode speed is bound by this number, so `tern info`
// and `tern bench` report it and compare against it.
#pragma once

#include <cstdint>

namespace tern {

struct BandwidthOptions {
    uint64_t buffer_bytes = 0;   // 0: 8x the largest cache, clamped to [64 MiB, 512 MiB]
    int threads = 1;
    double seconds = 0.4;        // time spent reading, after one warm-up pass
};

struct BandwidthResult {
    double gb_per_s = 0.0;       // 1e9 bytes per second, best of the timed passes
    uint64_t buffer_bytes = 0;
    int threads = 0;
    int passes = 0;
};

BandwidthResult measure_read_bandwidth(const BandwidthOptions& options);

}  // namespace tern

// Checks the measurement runs and reports sane numbers; it asserts no speed.
#include "core/memory_bandwidth.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

TEST(MemoryBandwidth, MeasuresWithOneAndTwoThreads) {
    for (const int threads : {1, 2}) {
        const BandwidthResult result = measure_read_bandwidth({.buffer_bytes = 8 << 20, .threads = threads, .seconds = 0.02});
        EXPECT_EQ(result.threads, threads);
        EXPECT_EQ(result.buffer_bytes, 8u << 20);
        EXPECT_GE(result.passes, 3);
        EXPECT_GT(result.gb_per_s, 0.01);
        EXPECT_LT(result.gb_per_s, 10000.0);
        EXPECT_LE(result.min_gb_per_s, result.gb_per_s);
        EXPECT_GE(result.max_gb_per_s, result.gb_per_s);
        EXPECT_TRUE(result.method == "1 stream" || result.method == "4 streams" || result.method == "8 streams" ||
                    result.method == "4 streams + prefetchnta")
            << result.method;
    }
}

}  // namespace
}  // namespace tern

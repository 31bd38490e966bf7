#include "core/cpu_info.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

TEST(CpuInfo, CountsAreConsistent) {
    const CpuInfo info = detect_cpu_info();
    EXPECT_GE(info.logical_cpus, 1);
    EXPECT_GE(info.usable_cpus, 1);
    EXPECT_LE(info.usable_cpus, info.logical_cpus);
    EXPECT_LE(info.physical_cores, info.logical_cpus);
    EXPECT_FALSE(info.model_name.empty());
    for (const CacheLevel& cache : info.caches) {
        EXPECT_GE(cache.level, 1);
        EXPECT_GT(cache.size_bytes, 0u);
    }
}

TEST(CpuInfo, FeatureImplicationsHold) {
    const CpuFeatures f = detect_cpu_info().features;
    // Each wider feature is only reported with the OS state and the base feature it needs.
    if (f.avx2) {
        EXPECT_TRUE(f.avx);
    }
    if (f.avx512bw || f.avx512vl || f.avx512vnni || f.avx512vbmi) {
        EXPECT_TRUE(f.avx512f);
    }
    if (f.amx_int8) {
        EXPECT_TRUE(f.amx_tile);
    }
    if (f.neon_dotprod) {
        EXPECT_TRUE(f.neon);
    }
#if defined(__x86_64__)
    EXPECT_TRUE(f.sse42 || !f.avx) << "AVX without SSE4.2 is not a real CPU";
    EXPECT_EQ(f.avx2, __builtin_cpu_supports("avx2") != 0);
    EXPECT_EQ(f.avx512f, __builtin_cpu_supports("avx512f") != 0);
    EXPECT_EQ(f.avx512vnni, __builtin_cpu_supports("avx512vnni") != 0);
#endif
}

TEST(CpuInfo, DescribesFeatures) {
    CpuFeatures f;
    EXPECT_EQ(describe_features(f), "none");
    f.avx2 = true;
    f.avx512vnni = true;
    EXPECT_EQ(describe_features(f), "avx2 avx512vnni");
}

}  // namespace
}  // namespace tern

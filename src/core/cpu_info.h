// What this CPU can do, detected at run time (never assumed at compile time): the model name,
// SIMD features the OS has enabled, core counts and cache sizes. Kernel dispatch and
// `tern info` both read it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tern {

struct CpuFeatures {
    // x86: each flag means the CPU has it AND the OS saves its registers (XCR0), so it is safe.
    bool sse42 = false;
    bool avx = false;
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512vnni = false;
    bool avx512vbmi = false;
    bool avx_vnni = false;
    bool amx_tile = false;
    bool amx_int8 = false;
    // ARM (AArch64)
    bool neon = false;
    bool neon_dotprod = false;
    bool neon_i8mm = false;
};

struct CacheLevel {
    int level = 0;
    std::string type;           // "Data", "Instruction", "Unified"
    uint64_t size_bytes = 0;
    int shared_by_cpus = 0;     // logical CPUs sharing one instance
};

struct CpuInfo {
    std::string model_name;
    std::string architecture;   // "x86-64", "aarch64", ...
    CpuFeatures features;
    int logical_cpus = 0;       // online logical CPUs in the machine
    int usable_cpus = 0;        // CPUs this process may run on (affinity mask, cgroup-unaware)
    int physical_cores = 0;     // distinct (package, core) pairs; 0 if unknown
    std::vector<CacheLevel> caches;  // as seen from CPU 0
};

// Never fails: what cannot be read is left at its zero value.
CpuInfo detect_cpu_info();

// "avx2 avx512f avx512bw ..." for the flags that are set.
std::string describe_features(const CpuFeatures& features);

}  // namespace tern

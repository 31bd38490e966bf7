// What this machine offers tern: the CPU, its SIMD features and the kernels that run here, and
// how fast those kernels stream weights on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern {

struct SystemInfo {
    std::string version = {};               // tern's
    std::string cpu = {};                   // the CPU's model name
    std::string architecture = {};          // "x86_64", ...
    std::string features = {};              // SIMD features detected at run time, e.g. "avx2 avx512f avx512vnni"
    int logical_cpus = 0;
    int usable_cpus = 0;                    // CPUs this process may run on
    std::vector<std::string> kernels = {};  // kernel ISAs that run here, slowest first
    std::string best_kernels = {};          // what a model load picks (TERN_ISA overrides)
    std::string amx_prefill = {};           // whether prompts use AMX-INT8 here, or why not
    int physical_cores = 0;                 // 0: unknown
    std::string caches = {};                // "L1d 48 KiB, L1i 32 KiB, L2 1 MiB, L3 32 MiB (shared by 2 CPUs)"
    std::string isa_override = {};          // the TERN_ISA environment variable ("" when unset)
    std::string isa_error = {};             // why TERN_ISA cannot be used ("" when it can, or is unset)
    // The kernel tables a model load times against each other (none when TERN_ISA forces one):
    // for the ternary GEMV and GEMM, and for the complex (iFairy) and widely-linear (Fairy2i) ones.
    std::vector<std::string> autotuned_kernels = {};
    std::vector<std::string> autotuned_complex_kernels = {};
    bool mpi = false;                       // built with MPI: LoadOptions::split works under mpirun
    std::string mpi_version = {};           // "Open MPI v4.1.4, ...", or why there is none
};

SystemInfo system_info();

// The memory read bandwidth that bounds decode speed, measured now: the median pass of the
// fastest of several read loops (one or several streams per thread, with and without
// non-temporal prefetch) over a buffer at least four times the largest cache.
struct MemoryBandwidth {
    double gb_per_s = 0;       // 1e9 bytes per second
    double min_gb_per_s = 0;   // that loop's slowest and fastest passes
    double max_gb_per_s = 0;
    std::string method = {};   // that loop, e.g. "4 streams + prefetchnta"
    uint64_t buffer_bytes = 0;
    int threads = 0;
};
// Errors: threads below 1, seconds not positive.
Result<MemoryBandwidth> measure_memory_bandwidth(int threads, double seconds = 0.4);

// `tern bench --kernels`: every kernel timed on the BitNet b1.58 2B4T shapes (ternary GEMV and
// GEMM, the LM head in each format, the complex and widely-linear GEMV), against the read
// bandwidth measured in the same run.
struct KernelBenchmarkOptions {
    std::vector<std::string> isas = {};  // e.g. {"avx2", "avx512vnni"}; empty: every ISA that runs here but scalar
    std::vector<int> threads = {1, 2};
    size_t gemm_tokens = 128;            // tokens of the GEMM points; 0 skips them
    bool head = true;                    // the 128256 x 2560 LM head (F16, Q8_0, Q6_K, Q4_0)
    bool complex = true;                 // iFairy's complex and Fairy2i's widely-linear GEMV
    double seconds_per_point = 0.3;      // timing budget of one (kernel, shape, threads)
    size_t stream_mb = 0;                // MiB of weight copies cycled per GEMV; 0: 4x the last-level cache, >= 256
    std::function<void(std::string_view point)> on_point = {};   // called before each point is timed
};

// The report as JSON, `tern bench --kernels --json`'s: "cpu", "read_bandwidth_gb_per_s" (per
// thread count) and "points" (op, isa, kernels, shape, rows, cols, threads, tokens, seconds,
// weight_bytes, gb_per_s, bandwidth_fraction, seconds_per_token). Errors: an ISA that is unknown
// or does not run here, a thread count below 1, a time budget that is not positive.
Result<std::string> benchmark_kernels(const KernelBenchmarkOptions& options = {});

}  // namespace tern

// Times the matmul kernels on real model shapes with weights far larger than the caches, and
// relates the result to the machine's read bandwidth measured in the same run. Used by
// `tern bench --kernels` and bench/kernels_bench; never by tests (timings are not asserted).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/memory_bandwidth.h"

#include "kernels/isa.h"

namespace tern::engine {

struct MatrixShape {
    std::string name;   // "attn_qkv" ...
    size_t rows = 0;    // outputs
    size_t cols = 0;    // inputs (K)
};

// The ternary projections of BitNet b1.58 2B4T: q/o 2560x2560, k/v 640x2560, gate/up
// 6912x2560, down 2560x6912.
std::vector<MatrixShape> bitnet_2b4t_ternary_shapes();

struct KernelBenchOptions {
    std::vector<kernels::Isa> isas;            // empty: every ISA this machine runs
    std::vector<int> threads = {1, 2};
    std::vector<MatrixShape> shapes;           // empty: bitnet_2b4t_ternary_shapes()
    size_t gemm_tokens = 128;                  // 0: skip GEMM
    bool float_head = true;                    // also the 128256x2560 LM head as F16 and as Q8_0 (GEMV)
    bool complex = true;                       // also iFairy's complex and Fairy2i's widely-linear GEMV
    double seconds_per_point = 0.3;            // timing budget of one (kernel, shape, threads)
    size_t streamed_bytes = 0;                 // weight copies cycled per GEMV; 0: 4x the LLC, >= 256 MiB
};

struct KernelBenchPoint {
    std::string op;             // "gemv", "gemm" (ternary), "f16 gemv", "q8_0 gemv", "q6_k gemv" or "q4_0 gemv" (LM head),
                                // "complex gemv" (iFairy), "wl int8 gemv" or "wl f32 gemv" (Fairy2i)
    kernels::Isa isa;
    std::string kernels;        // the kernel table's name: the ISA, "+base3" for base-3 packing
    MatrixShape shape;
    int threads = 0;
    size_t tokens = 0;
    double seconds = 0.0;       // median time of one call
    double weight_bytes = 0.0;  // packed weight bytes one call reads
    double gb_per_s = 0.0;      // weight_bytes / seconds
    double bandwidth_fraction = 0.0;   // gb_per_s / measured read bandwidth at this thread count
    double seconds_per_token = 0.0;
};

struct KernelBenchReport {
    std::vector<BandwidthResult> read_bandwidth;   // one per thread count, measured in the same run
    std::vector<KernelBenchPoint> points;
};

using BenchProgress = std::function<void(const KernelBenchPoint&)>;
KernelBenchReport run_kernel_benchmark(const KernelBenchOptions& options, const BenchProgress& progress = {});

}  // namespace tern::engine

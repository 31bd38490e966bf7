// Kernel autotuning at load: when several kernel tables read the model's ternary layout
// (kernels::tables_sharing_layout), time their GEMV and GEMM once on the model's own matrices
// with the engine's threads and keep the fastest of each. Every candidate gives bit-identical
// results (kernels/ternary_matmul.h), so the choice changes speed, never output.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "model/model.h"

namespace tern::engine {

struct KernelTiming {
    const char* kernels = "";   // the candidate table's name
    double seconds = 0.0;       // median time of one timed pass
};

struct AutotuneReport {
    int threads = 0;
    const char* gemv_choice = "";     // the name of the table whose kernel was picked
    const char* gemm_choice = "";
    std::vector<KernelTiming> gemv;   // one token through the projections of the first layers
    std::vector<KernelTiming> gemm;   // kAutotuneGemmTokens tokens through the first layer
    double seconds = 0.0;             // what the tuning cost in all
    // "gemv avx2 (avx512vnni 3.20 ms; avx2 2.91 ms), gemm avx512vnni (...); timed with 2 threads in 41.20 ms",
    // or "" when nothing was timed.
    std::string summary() const;
};

inline constexpr size_t kAutotuneGemvLayers = 4;   // 2B4T: 70 MB of weights, far past the caches
inline constexpr size_t kAutotuneGemmTokens = 8;

struct TunedKernels {
    kernels::KernelTable table;   // candidates[0] with the fastest ternary_gemv and ternary_gemm
    AutotuneReport report;        // empty timings when there was only one candidate
};

// Precondition: candidates is non-empty, they all read candidates[0]->ternary_layout, and the
// model's projections are stored in that layout; for a complex model (whose kernels read one
// layout on every ISA) any tables, and the complex kernels are the ones timed and chosen; the
// same for a widely-linear (Fairy2i) model and the widely-linear kernels of its activation path.
// Ties keep the earlier candidate.
TunedKernels autotune_ternary_kernels(std::span<const kernels::KernelTable* const> candidates,
                                      const model::Model& model, ThreadPool& pool);

}  // namespace tern::engine

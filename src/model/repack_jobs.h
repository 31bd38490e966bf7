// Repacks a model's ternary projections in parallel: one job per tensor, taken dynamically
// by the threads (tensor sizes differ by 10x). Each result depends only on its own tensor, so
// the model is identical for any thread count.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model/model.h"

namespace tern::model {

// A ternary projection (build, dest), a complex one (build_complex, dest_complex) or a
// widely-linear one (build_widely_linear, dest_widely_linear).
struct RepackJob {
    std::string name;                                   // for errors
    size_t source_bytes = 0;                            // for progress
    std::function<Result<quant::PackedTernary>()> build;
    quant::PackedTernary* dest = nullptr;
    std::function<void()> done;                         // optional, e.g. drop the source pages
    std::function<Result<quant::PackedComplex>()> build_complex = {};
    quant::PackedComplex* dest_complex = nullptr;
    std::function<Result<quant::PackedWidelyLinear>()> build_widely_linear = {};
    quant::PackedWidelyLinear* dest_widely_linear = nullptr;
};

// Runs every job, converts each ternary result to options.layout, reports progress; the first error
// (in job order) names its tensor.
Status run_repack_jobs(const std::vector<RepackJob>& jobs, const LoadOptions& options);

}  // namespace tern::model

// Repacks a model's ternary projections in parallel: one job per tensor, taken dynamically
// by the threads (tensor sizes differ by 10x). Each result depends only on its own tensor, so
// the model is identical for any thread count.
#pragma once

#include <functional>
#include <optional>
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
    // A ternary result keeps only these rows (a rank's share under --split rows).
    std::optional<RowRange> keep_rows = std::nullopt;
};

// What options.keep_rows keeps of a matrix of `rows` rows with this role in a model of this
// architecture: absent when it keeps every row, or when the family does not split by rows (only
// the ternary transformer does).
std::optional<RowRange> rows_to_keep(const LoadOptions& options, const Architecture& arch, TensorRole role,
                                     const Hparams& hp, size_t rows);

// Runs every job, converts each ternary result to options.layout, reports progress; the first error
// (in job order) names its tensor.
Status run_repack_jobs(const std::vector<RepackJob>& jobs, const LoadOptions& options);

}  // namespace tern::model

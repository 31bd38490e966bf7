#include "model/repack_jobs.h"

#include <algorithm>
#include <atomic>
#include <optional>

#include "core/str_cat.h"
#include "core/thread_pool.h"
#include "model/row_split.h"

namespace tern::model {

std::optional<RowRange> rows_to_keep(const LoadOptions& options, const Architecture& arch, TensorRole role,
                                     const Hparams& hp, size_t rows) {
    if (!options.keep_rows || arch.family != ModelFamily::kTernaryTransformer) return std::nullopt;
    const RowRange kept = options.keep_rows(role, hp);
    if (kept.begin == 0 && kept.end >= rows) return std::nullopt;
    return RowRange{.begin = std::min(kept.begin, rows), .end = std::min(kept.end, rows)};
}

Status run_repack_jobs(const std::vector<RepackJob>& jobs, const LoadOptions& options) {
    size_t total_bytes = 0;
    for (const RepackJob& job : jobs) total_bytes += job.source_bytes;
    std::vector<std::optional<Error>> errors(jobs.size());
    std::atomic<size_t> next{0}, done_bytes{0};
    ThreadPool pool(std::max(1, options.threads));
    pool.run_on_all([&](int thread_idx) {
        for (size_t j; (j = next.fetch_add(1)) < jobs.size();) {
            const RepackJob& job = jobs[j];
            if (job.dest_widely_linear != nullptr) {
                Result<quant::PackedWidelyLinear> packed = job.build_widely_linear();
                if (job.done) job.done();
                if (packed.ok()) *job.dest_widely_linear = std::move(packed).value();
                else errors[j] = packed.error().within(str_cat("tensor '", job.name, "'"));
            } else if (job.dest_complex != nullptr) {
                Result<quant::PackedComplex> packed = job.build_complex();
                if (job.done) job.done();
                if (packed.ok()) *job.dest_complex = std::move(packed).value();
                else errors[j] = packed.error().within(str_cat("tensor '", job.name, "'"));
            } else {
                Result<quant::PackedTernary> packed = job.build();
                if (job.done) job.done();
                if (packed.ok()) {
                    *job.dest = job.keep_rows ? slice_rows(packed.value(), job.keep_rows->begin, job.keep_rows->end)
                                              : std::move(packed).value();
                    quant::convert_layout(*job.dest, options.layout);
                } else {
                    errors[j] = packed.error().within(str_cat("tensor '", job.name, "'"));
                }
            }
            const size_t done = done_bytes.fetch_add(job.source_bytes) + job.source_bytes;
            if (thread_idx == 0 && options.progress) options.progress(done, total_bytes);
        }
    });
    for (const std::optional<Error>& error : errors)
        if (error) return *error;
    if (options.progress) options.progress(total_bytes, total_bytes);
    return {};
}

}  // namespace tern::model

#include "engine/split_job.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/cpu_info.h"
#include "core/str_cat.h"
#include "model/row_split.h"

namespace tern::engine {

Result<std::unique_ptr<SplitJob>> SplitJob::start(const std::string& kind, double wait_limit_seconds,
                                                  std::string_view option) {
    if (kind != "rows" && kind != "layers")
        return Error(str_cat(option, ": '", kind, "' is not a split (expected rows or layers)"));
    TERN_ASSIGN_OR_RETURN(std::unique_ptr<distributed::MpiJob> job, distributed::join_mpi_job());
    const auto wait_limit = std::chrono::milliseconds(static_cast<int64_t>(wait_limit_seconds * 1000));
    return std::unique_ptr<SplitJob>(
        new SplitJob(std::move(job), kind == "rows" ? SplitKind::kRows : SplitKind::kLayers, wait_limit));
}

SplitJob::SplitJob(std::unique_ptr<distributed::MpiJob> job, SplitKind kind, std::chrono::milliseconds wait_limit)
    : job_(std::move(job)), wait_limit_(wait_limit) {
    split_.comm = job_.get();
    split_.kind = kind;
}

SplitJob::~SplitJob() {
    if (leader() && following_) finish_followers(split_);
}

ModelRequest SplitJob::for_this_rank(ModelRequest request) const {
    model::LoadOptions share;
    if (split_.by_rows()) model::load_only_row_share(share, ranks(), rank());
    else model::load_only_layer_share(share, ranks(), rank());
    request.keep_layer = std::move(share.keep_layer);
    request.keep_rows = std::move(share.keep_rows);
    return request;
}

int SplitJob::threads(int requested) const {
    if (requested > 0) return requested;
    // mpirun may bind each rank to cores of its own: then those; else the host's share.
    const CpuInfo cpu = detect_cpu_info();
    const int host_share = std::max(1, cpu.logical_cpus / static_cast<int>(job_->local_size()));
    return std::max(1, std::min(cpu.usable_cpus, host_share));
}

Status SplitJob::keep_share(const Status& loaded, model::Model* model) {
    Status mine = loaded;
    if (mine.ok()) mine = plan(*model);
    bool leader_failed = leader() && !mine.ok();
    job_->broadcast({reinterpret_cast<std::byte*>(&leader_failed), sizeof leader_failed});
    if (!job_->any(!mine.ok())) {
        if (split_.by_rows()) model::keep_row_share(*model, split_.shares, rank());
        else model::keep_layer_share(*model, split_.layers, rank());
        following_ = true;
        job_->watch_waits(wait_limit_);   // every rank is loaded: from here on, waits are short
        return {};
    }
    // Rank 0 reports why the others failed: a failing rank's own line can be lost when mpirun
    // ends the job at the first exit, which may be rank 0's.
    const std::vector<std::string> reasons = job_->gather_text(mine.ok() ? "" : mine.error().message());
    if (!mine.ok()) return leader() ? mine : mine.error().within(str_cat("rank ", rank()));
    if (leader()) {
        for (size_t r = 1; r < reasons.size(); ++r)
            if (!reasons[r].empty())
                return Error(str_cat("split: rank ", r, " could not load its share of the model: ", reasons[r]));
        return Error("split: another rank could not load its share of the model");
    }
    return Error(str_cat("rank ", rank(), ": stopped: ",
                         leader_failed ? "rank 0 could not load the model" : "another rank could not load its share"));
}

Status SplitJob::plan(const model::Model& model) {
    if (split_.by_rows()) {
        TERN_ASSIGN_OR_RETURN(split_.shares, model::plan_row_split(model, ranks()));
    } else {
        TERN_ASSIGN_OR_RETURN(split_.layers, model::plan_layer_split(model, ranks()));
    }
    return {};
}

void SplitJob::abort(int exit_code) {
    job_->abort(exit_code);
    std::abort();   // not reached: MpiJob::abort ends the process
}

Status SplitJob::follow(const LoadedModel& lm, ThreadPool& pool) {
    return follow_leader(lm.model, lm.kernels, pool, split_);
}

}  // namespace tern::engine

#include "cli/split_setup.h"

#include <algorithm>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "core/cpu_info.h"
#include "core/str_cat.h"
#include "model/row_split.h"

namespace tern::cli {

Result<std::unique_ptr<SplitRun>> SplitRun::start(const SplitOptions& split) {
    if (split.kind.empty()) return std::unique_ptr<SplitRun>();
    if (split.kind != "rows" && split.kind != "layers")
        return Error(str_cat("--split: '", split.kind, "' is not a split (expected rows or layers)"));
    TERN_ASSIGN_OR_RETURN(std::unique_ptr<distributed::MpiJob> job, distributed::join_mpi_job());
    const auto wait_limit = std::chrono::milliseconds(static_cast<int64_t>(split.wait_limit_seconds * 1000));
    return std::unique_ptr<SplitRun>(new SplitRun(
        std::move(job), split.kind == "rows" ? engine::SplitKind::kRows : engine::SplitKind::kLayers, wait_limit));
}

SplitRun::SplitRun(std::unique_ptr<distributed::MpiJob> job, engine::SplitKind kind, std::chrono::milliseconds wait_limit)
    : job_(std::move(job)), wait_limit_(wait_limit) {
    split_.comm = job_.get();
    split_.kind = kind;
}

SplitRun::~SplitRun() {
    if (leader() && following_) engine::finish_followers(split_);
}

engine::ModelRequest for_this_rank(const std::unique_ptr<SplitRun>& job, engine::ModelRequest request) {
    if (!job) return request;
    model::LoadOptions share;
    const size_t rank = job->split().rank(), ranks = job->split().comm->size();
    if (job->split().by_rows()) model::load_only_row_share(share, ranks, rank);
    else model::load_only_layer_share(share, ranks, rank);
    request.keep_layer = std::move(share.keep_layer);
    request.keep_rows = std::move(share.keep_rows);
    return request;
}

int thread_count(const std::unique_ptr<SplitRun>& job, int requested) {
    return job ? job->threads(requested) : requested > 0 ? requested : default_thread_count();
}

int SplitRun::threads(int requested) const {
    if (requested > 0) return requested;
    // mpirun may bind each rank to cores of its own: then those; else the host's share.
    const CpuInfo cpu = detect_cpu_info();
    const int host_share = std::max(1, cpu.logical_cpus / static_cast<int>(job_->local_size()));
    return std::max(1, std::min(cpu.usable_cpus, host_share));
}

std::optional<int> SplitRun::keep_share(const Status& loaded, model::Model* model) {
    Status mine = loaded;
    if (mine.ok()) mine = plan(*model);
    bool leader_failed = leader() && !mine.ok();
    job_->broadcast({reinterpret_cast<std::byte*>(&leader_failed), sizeof leader_failed});
    if (!job_->any(!mine.ok())) {
        if (split_.by_rows()) model::keep_row_share(*model, split_.shares, job_->rank());
        else model::keep_layer_share(*model, split_.layers, job_->rank());
        following_ = true;
        job_->watch_waits(wait_limit_);   // every rank is loaded: from here on, waits are short
        return std::nullopt;
    }
    if (!mine.ok() && (leader() || !leader_failed))
        return report_failure(leader() ? mine.error().message() : str_cat("rank ", job_->rank(), ": ", mine.error().message()));
    return 1;
}

Status SplitRun::plan(const model::Model& model) {
    if (split_.by_rows()) {
        TERN_ASSIGN_OR_RETURN(split_.shares, model::plan_row_split(model, job_->size()));
    } else {
        TERN_ASSIGN_OR_RETURN(split_.layers, model::plan_layer_split(model, job_->size()));
    }
    return {};
}

int SplitRun::follow(const engine::LoadedModel& lm, int threads) {
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);
    ThreadPool pool(threads);
    Status followed = engine::follow_leader(lm.model, lm.kernels, pool, split_);
    if (followed.ok()) return 0;
    report_failure(followed.error().message());
    job_->abort(1);   // the leader may be waiting on this rank: end the whole job
    return 1;
}

}  // namespace tern::cli

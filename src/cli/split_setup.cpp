#include "cli/split_setup.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "core/str_cat.h"
#include "model/row_split.h"

namespace tern::cli {

void add_split_option(CLI::App* command, std::string& split) {
    command->add_option("--split", split,
                        "Under mpirun: split the model over the ranks. rows: each rank keeps its rows of every "
                        "projection, its KV heads and its rows of the head (logits bit-identical to one process)")
        ->check(CLI::IsMember({"rows"}));
}

Result<std::unique_ptr<SplitRun>> SplitRun::start(const std::string& split) {
    if (split.empty()) return std::unique_ptr<SplitRun>();
    if (split != "rows") return Error(str_cat("--split: '", split, "' is not a split (expected rows)"));
    TERN_ASSIGN_OR_RETURN(std::unique_ptr<distributed::MpiJob> job, distributed::join_mpi_job());
    return std::unique_ptr<SplitRun>(new SplitRun(std::move(job)));
}

SplitRun::SplitRun(std::unique_ptr<distributed::MpiJob> job) : job_(std::move(job)) { tp_.comm = job_.get(); }

SplitRun::~SplitRun() {
    if (leader() && !tp_.shares.kv_heads.empty()) engine::finish_followers(tp_);
}

int thread_count(const std::unique_ptr<SplitRun>& job, int requested) {
    return job ? job->threads(requested) : requested > 0 ? requested : default_thread_count();
}

int SplitRun::threads(int requested) const {
    if (requested > 0) return requested;
    const size_t cores = std::max(1u, std::thread::hardware_concurrency());
    return static_cast<int>(std::max<size_t>(1, cores / job_->local_size()));
}

std::optional<int> SplitRun::keep_share(const Status& loaded, model::Model* model) {
    Status mine = loaded;
    if (mine.ok()) {
        Result<model::RowShares> shares = model::plan_row_split(*model, job_->size());
        if (shares.ok()) tp_.shares = std::move(shares).value();
        else mine = shares.error();
    }
    bool leader_failed = leader() && !mine.ok();
    job_->broadcast({reinterpret_cast<std::byte*>(&leader_failed), sizeof leader_failed});
    if (!job_->any(!mine.ok())) {
        model::keep_row_share(*model, tp_.shares, job_->rank());
        return std::nullopt;
    }
    tp_.shares = {};   // nothing to release: the followers never start following
    if (!mine.ok() && (leader() || !leader_failed))
        return report_failure(leader() ? mine.error().message() : str_cat("rank ", job_->rank(), ": ", mine.error().message()));
    return 1;
}

int SplitRun::follow(const engine::LoadedModel& lm, int threads) {
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);
    ThreadPool pool(threads);
    Status followed = engine::follow_leader(lm.model, lm.kernels, pool, tp_);
    if (followed.ok()) return 0;
    report_failure(followed.error().message());
    job_->abort(1);   // the leader may be waiting on this rank: end the whole job
    return 1;
}

}  // namespace tern::cli

// --split for the commands that run a model (`mpirun -n N tern run|chat|perplexity|serve -m M
// --split rows|layers`):
// joins the MPI job, keeps this rank's share of the loaded model, and sends the followers
// (every rank but 0) into engine::follow_leader while rank 0 runs the command as usual.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/thread_pool.h"
#include "distributed/mpi_job.h"
#include "engine/model_loading.h"
#include "engine/model_split.h"
#include "tern/status.h"

namespace tern::cli {

struct SplitOptions;

class SplitRun {
public:
    // nullptr for a plain run (no split asked for). Errors: an unknown split, a build without
    // MPI, an MPI that does not start.
    static Result<std::unique_ptr<SplitRun>> start(const SplitOptions& split);
    ~SplitRun();   // the leader releases the followers

    bool leader() const { return job_->leader(); }
    const engine::ModelSplit& split() const { return split_; }
    // -t as given, else the cores mpirun bound this rank to, or this host's share of its cores.
    int threads(int requested) const;
    // Every rank calls this after loading (`model` null when its load failed with `loaded`):
    // when any rank failed, each rank whose failure is its own (not the leader's too) reports
    // it, and every rank gets the exit code to return. Otherwise this rank keeps its share.
    std::optional<int> keep_share(const Status& loaded, model::Model* model);
    // A follower's whole command: mirrors the leader's sessions; the exit code. It ignores
    // SIGINT and SIGTERM: the leader decides when the job ends (mpirun signals every rank).
    int follow(const engine::LoadedModel& lm, int threads);
    engine::ModelSplit* model_split() { return &split_; }

private:
    SplitRun(std::unique_ptr<distributed::MpiJob> job, engine::SplitKind kind, std::chrono::milliseconds wait_limit);
    Status plan(const model::Model& model);   // this split's shares of the model

    std::unique_ptr<distributed::MpiJob> job_;
    std::chrono::milliseconds wait_limit_;
    bool following_ = false;   // every rank loaded its share: the followers wait for the leader
    engine::ModelSplit split_;
};

inline engine::LoadedModel& loaded_model_of(engine::LoadedModel& loaded) { return loaded; }
inline engine::LoadedModel& loaded_model_of(engine::ChatModel& chat) { return chat.loaded; }

// What every command does after loading. Returns the exit code when this process is done (a
// load failed on some rank, or a follower's whole run), nullopt when the command goes on
// (the leader, or a run without --split).
template <class Loaded>
std::optional<int> settle_split(const std::unique_ptr<SplitRun>& job, Result<Loaded>& loaded, int threads) {
    if (!job) return std::nullopt;
    const Status status = loaded.ok() ? Status{} : Status(loaded.error());
    if (std::optional<int> failed =
            job->keep_share(status, loaded.ok() ? &loaded_model_of(loaded.value()).model : nullptr))
        return failed;
    if (job->leader()) return std::nullopt;
    return job->follow(loaded_model_of(loaded.value()), threads);
}

// The request as this rank loads it: split by layers, only its layers' projections are read
// and repacked (so no rank ever holds the whole model); otherwise unchanged.
engine::ModelRequest for_this_rank(const std::unique_ptr<SplitRun>& job, engine::ModelRequest request);

// -t as given, else all cores, or this host's cores shared among its ranks under --split.
int thread_count(const std::unique_ptr<SplitRun>& job, int requested);

// The split of a run, or nullptr for a plain one.
inline engine::ModelSplit* model_split_of(const std::unique_ptr<SplitRun>& run) {
    return run ? run->model_split() : nullptr;
}

}  // namespace tern::cli

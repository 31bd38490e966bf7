// A model split over the ranks of an MPI job (`mpirun -n N tern ... --split rows|layers`, or a
// library Model loaded with LoadOptions::split): joins the job, tells each rank which share of
// the model to load, checks that every rank loaded its share, and runs the followers (every rank
// but 0) as mirrors of the leader's sessions (engine/model_split.h).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/thread_pool.h"
#include "distributed/mpi_job.h"
#include "engine/model_loading.h"
#include "engine/model_split.h"
#include "tern/status.h"

namespace tern::engine {

class SplitJob {
public:
    // Joins the MPI job. Errors: `kind` is not "rows" or "layers", a build without MPI, an MPI
    // that does not start. `option` names the setting in messages ("--split", "split").
    static Result<std::unique_ptr<SplitJob>> start(const std::string& kind, double wait_limit_seconds,
                                                   std::string_view option);
    ~SplitJob();   // the leader releases the followers once every rank has loaded

    bool leader() const { return job_->leader(); }
    size_t rank() const { return job_->rank(); }
    size_t ranks() const { return job_->size(); }
    const ModelSplit& split() const { return split_; }
    ModelSplit* model_split() { return &split_; }
    // `requested` when above 0, else the cores mpirun bound this rank to, or this host's share
    // of its cores.
    int threads(int requested) const;
    // The request as this rank loads it: only its layers' (or rows') share is read and repacked.
    ModelRequest for_this_rank(ModelRequest request) const;
    // Every rank calls this after loading (`model` null when its own load failed with `loaded`).
    // When every rank loaded, this rank keeps its share and the job's waits are watched from
    // here on. Otherwise every rank gets an error: its own failure ("rank R: ..." on a follower),
    // or, where this rank loaded, which rank did not.
    Status keep_share(const Status& loaded, model::Model* model);
    // A follower's whole part: mirrors the leader's sessions until the leader finishes.
    Status follow(const LoadedModel& lm, ThreadPool& pool);
    // Ends every rank of the job (after a rank has said why): the leader may be waiting on this one.
    [[noreturn]] void abort(int exit_code);

private:
    SplitJob(std::unique_ptr<distributed::MpiJob> job, SplitKind kind, std::chrono::milliseconds wait_limit);
    Status plan(const model::Model& model);   // this split's shares of the model

    std::unique_ptr<distributed::MpiJob> job_;
    std::chrono::milliseconds wait_limit_;
    bool following_ = false;   // every rank loaded its share: the followers wait for the leader
    ModelSplit split_;
};

}  // namespace tern::engine

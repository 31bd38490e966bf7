// --split for the commands that run a model (`mpirun -n N tern run|perplexity -m M --split rows`):
// joins the MPI job, keeps this rank's share of the loaded model, and sends the followers
// (every rank but 0) into engine::follow_leader while rank 0 runs the command as usual.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

#include "core/thread_pool.h"
#include "distributed/mpi_job.h"
#include "engine/model_loading.h"
#include "engine/tensor_parallel.h"
#include "tern/status.h"

namespace tern::cli {

void add_split_option(CLI::App* command, std::string& split);

class SplitRun {
public:
    // nullptr for a plain run (`split` empty). Errors: an unknown split, a build without MPI,
    // an MPI that does not start.
    static Result<std::unique_ptr<SplitRun>> start(const std::string& split);
    ~SplitRun();   // the leader releases the followers

    bool leader() const { return job_->leader(); }
    // -t as given, else this host's cores shared among its ranks.
    int threads(int requested) const;
    // Every rank calls this after loading: when any rank failed, each rank whose failure is its
    // own (not the leader's too) reports it, and every rank gets the exit code to return.
    // Otherwise this rank keeps its share of the model.
    std::optional<int> keep_share(Result<engine::LoadedModel>& loaded);
    // A follower's whole command: mirrors the leader's sessions; the exit code.
    int follow(const engine::LoadedModel& lm, ThreadPool& pool);
    engine::TensorParallel* tensor_parallel() { return &tp_; }

private:
    explicit SplitRun(std::unique_ptr<distributed::MpiJob> job);

    std::unique_ptr<distributed::MpiJob> job_;
    engine::TensorParallel tp_;
};

// The tensor-parallel context of a run, or nullptr for a plain one.
inline engine::TensorParallel* tensor_parallel_of(const std::unique_ptr<SplitRun>& run) {
    return run ? run->tensor_parallel() : nullptr;
}

}  // namespace tern::cli

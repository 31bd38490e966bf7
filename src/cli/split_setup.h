// --split for the commands that run a model (`mpirun -n N tern run|chat|perplexity|serve|bench
// -m M --split rows|layers`), over engine::SplitJob: each rank loads its share, failures end
// every rank with its own line, and the followers (every rank but 0) mirror the leader while
// rank 0 runs the command as usual.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "engine/model_loading.h"
#include "cli/commands.h"
#include "engine/split_job.h"
#include "tern/status.h"

namespace tern::cli {

struct SplitOptions;

using SplitRun = engine::SplitJob;

// nullptr for a plain run (no split asked for). Errors: an unknown split, a build without
// MPI, an MPI that does not start.
Result<std::unique_ptr<SplitRun>> start_split(const SplitOptions& split);

// A follower's whole command: mirrors the leader's sessions; the exit code. It ignores SIGINT
// and SIGTERM (the leader decides when the job ends; mpirun signals every rank), and a failure
// ends the whole job, since the leader may be waiting on this rank.
int follow_leader(SplitRun& job, const engine::LoadedModel& lm, int threads);

inline engine::LoadedModel& loaded_model_of(engine::LoadedModel& loaded) { return loaded; }
inline engine::LoadedModel& loaded_model_of(engine::ChatModel& chat) { return chat.loaded; }

// What every command does after loading. Returns the exit code when this process is done (a
// load failed on some rank, or a follower's whole run), nullopt when the command goes on
// (the leader, or a run without --split).
template <class Loaded>
std::optional<int> settle_split(const std::unique_ptr<SplitRun>& job, Result<Loaded>& loaded, int threads) {
    if (!job) return std::nullopt;
    const Status status = loaded.ok() ? Status{} : Status(loaded.error());
    if (Status kept = job->keep_share(status, loaded.ok() ? &loaded_model_of(loaded.value()).model : nullptr);
        !kept.ok()) {
        report_failure(kept.error().message());
        return 1;
    }
    if (job->leader()) return std::nullopt;
    return follow_leader(*job, loaded_model_of(loaded.value()), threads);
}

// The request as this rank loads it (unchanged without --split).
engine::ModelRequest for_this_rank(const std::unique_ptr<SplitRun>& job, engine::ModelRequest request);

// -t as given, else all cores, or this host's cores shared among its ranks under --split.
int thread_count(const std::unique_ptr<SplitRun>& job, int requested);

// The split of a run, or nullptr for a plain one.
inline engine::ModelSplit* model_split_of(const std::unique_ptr<SplitRun>& run) {
    return run ? run->model_split() : nullptr;
}

}  // namespace tern::cli

#include "cli/split_setup.h"

#include <csignal>

#include "cli/commands.h"

namespace tern::cli {

Result<std::unique_ptr<SplitRun>> start_split(const SplitOptions& split) {
    if (split.kind.empty()) return std::unique_ptr<SplitRun>();
    return SplitRun::start(split.kind, split.wait_limit_seconds, "--split");
}

engine::ModelRequest for_this_rank(const std::unique_ptr<SplitRun>& job, engine::ModelRequest request) {
    return job ? job->for_this_rank(std::move(request)) : request;
}

int thread_count(const std::unique_ptr<SplitRun>& job, int requested) {
    return job ? job->threads(requested) : requested > 0 ? requested : default_thread_count();
}

int follow_leader(SplitRun& job, const engine::LoadedModel& lm, int threads) {
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);
    ThreadPool pool(threads);
    const Status followed = job.follow(lm, pool);
    if (followed.ok()) return 0;
    report_failure(followed.error().message());
    job.abort(1);
}

}  // namespace tern::cli

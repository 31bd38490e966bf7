// `tern pull ORG/NAME[:FILE or glob] [--revision R]`: fetches a model from the Hugging Face
// Hub into the cache huggingface_hub shares (tern::pull), and prints the path to give -m.
#include <cstdio>

#include "cli/commands.h"
#include "cli/download_progress.h"
#include "tern/hub.h"

namespace tern::cli {

int run_pull(const PullOptions& options) {
    DownloadProgress progress;
    Result<PulledModel> pulled = pull(options.spec, {.revision = options.revision, .on_download = progress.reporter(),
                                                     .on_wait = progress.wait_reporter(), .cancel = nullptr});
    progress.finish();
    if (!pulled.ok()) return report_failure(pulled.error().message());
    const PulledModel& model = pulled.value();
    const size_t n = model.files.size();
    std::fprintf(stderr, "tern pull: %s@%.12s: %zu file%s (%zu downloaded, %zu already cached)\n",
                 options.spec.substr(0, options.spec.find(':')).c_str(), model.commit.c_str(), n, n == 1 ? "" : "s",
                 model.downloaded, n - model.downloaded);
    std::printf("%s\n", model.path.c_str());
    return 0;
}

}  // namespace tern::cli

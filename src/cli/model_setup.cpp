#include "cli/model_setup.h"

#include <unistd.h>

#include <cstdio>

#include "cli/download_progress.h"

namespace tern::cli {
namespace {

constexpr size_t kShowProgressAbove = size_t{64} << 20;

// A percentage on stderr while a large model repacks, when stderr is a terminal.
ModelRequest with_progress_line(ModelRequest request, const std::string& what) {
    if (!isatty(STDERR_FILENO)) return request;
    request.progress = [what](size_t done, size_t total) {
        if (total < kShowProgressAbove) return;
        std::fprintf(stderr, "\rloading %s: %3d%%", what.c_str(), static_cast<int>(100.0 * done / total));
        if (done == total) std::fprintf(stderr, "\r%*s\r", static_cast<int>(what.size()) + 16, "");
    };
    return request;
}

}  // namespace

namespace {

// A kernel found here but refused at load (AMX that disagreed on its sample) is said once.
Result<LoadedModel> warned(Result<LoadedModel> loaded) {
    if (loaded.ok() && !loaded.value().kernel_warning.empty())
        std::fprintf(stderr, "tern: warning: %s\n", loaded.value().kernel_warning.c_str());
    return loaded;
}

}  // namespace

Result<LoadedModel> load_model_for_run(const std::string& model, const ModelRequest& request) {
    TERN_ASSIGN_OR_RETURN(const std::string path, local_model_path(model));
    return warned(engine::load_model(path, with_progress_line(request, path)));
}

Result<LoadedModel> load_synthetic_model(const std::string& shape, const std::string& ternary_type,
                                         const ModelRequest& request) {
    return warned(engine::build_synthetic_model(shape, ternary_type, with_progress_line(request, "synthetic " + shape)));
}

Result<ChatModel> load_chat_model(const std::string& model, const ModelRequest& request,
                                  const std::string& template_name) {
    TERN_ASSIGN_OR_RETURN(LoadedModel loaded, load_model_for_run(model, request));
    TERN_ASSIGN_OR_RETURN(ChatModel chat, engine::chat_model_from(std::move(loaded), template_name));
    if (!chat.template_warning.empty()) std::fprintf(stderr, "tern: warning: %s\n", chat.template_warning.c_str());
    return chat;
}

}  // namespace tern::cli

// `tern serve`: the OpenAI-compatible HTTP server (src/server) over the public library. Loads
// the model, starts a tern::Batcher with --parallel KV cache slots, prints the address it listens on, and
// serves until SIGINT/SIGTERM: then it refuses new requests (503), lets those in flight
// finish for up to --timeout seconds, ends the rest with an error, and exits 0.
#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "cli/library_model.h"
#include "cli/signal_flag.h"
#include "core/mapped_file.h"
#include "core/str_cat.h"
#include "server/http_server.h"
#include "server/server_metrics.h"
#include "tern/batcher.h"

namespace tern::cli {
namespace {

constexpr size_t kDefaultMaxContext = 4096;

// The one piece of process-wide state: a signal handler can only talk through a flag.
volatile std::sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int signal) { g_stop_signal = signal; }

void install_stop_handlers() {
    install_signal_handler(SIGINT, on_stop_signal);
    install_signal_handler(SIGTERM, on_stop_signal);
}

std::string model_id(const ServeOptions& options) {
    if (!options.alias.empty()) return options.alias;
    std::filesystem::path path(options.model);
    if (path.filename().empty()) path = path.parent_path();   // "dir/"
    return path.extension() == ".gguf" ? path.stem().string() : path.filename().string();
}

// Watches for the stop signal, then shuts the server down gracefully.
void watch_for_stop(server::HttpServer& http, std::chrono::seconds grace, const std::atomic<bool>& serving_done) {
    while (g_stop_signal == 0 && !serving_done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (serving_done.load()) return;
    std::fprintf(stderr, "tern serve: %s received, finishing requests in flight (at most %llds)\n",
                 g_stop_signal == SIGINT ? "SIGINT" : "SIGTERM", static_cast<long long>(grace.count()));
    http.shut_down_gracefully(grace);
}

// Each connection takes a descriptor, and the usual soft limit (1024) would cap the server far
// below what it can hold: take the hard limit, which needs no privilege.
void raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

// --api-key (or $TERN_API_KEY) and the lines of --api-key-file.
Result<std::vector<std::string>> collect_api_keys(const ServeOptions& options) {
    std::vector<std::string> keys;
    std::string single = options.api_key;
    if (const char* env = std::getenv("TERN_API_KEY"); single.empty() && env != nullptr) single = env;
    if (!single.empty()) keys.push_back(single);
    if (options.api_key_file.empty()) return keys;
    TERN_ASSIGN_OR_RETURN(const std::string text, read_text_file(options.api_key_file, size_t{1} << 20));
    size_t line_start = 0;
    while (line_start < text.size()) {
        size_t end = text.find('\n', line_start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(line_start, end - line_start);
        line_start = end + 1;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        const size_t first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        keys.push_back(line.substr(first));
    }
    if (keys.empty()) return Error(str_cat("--api-key-file ", options.api_key_file, " holds no keys"));
    return keys;
}

}  // namespace

int run_serve(const ServeOptions& options) {
    // Flags are checked before the model loads, which can take a while.
    Result<std::vector<std::string>> api_keys = collect_api_keys(options);
    if (!api_keys.ok()) return report_failure(api_keys.error().message());
    if (options.ssl_cert.empty() != options.ssl_key.empty()) return report_failure("--ssl-cert and --ssl-key go together");
    const bool draft_model = !options.draft.source.empty() && options.draft.source != "ngram";
    if (draft_model && !options.split.kind.empty())
        return report_failure("--draft MODEL and --split: a draft model runs in one process only (--draft ngram works)");
    LoadOptions load = load_options_from(options);
    load.chat_template = options.chat_template;
    Result<Model> loaded = load_for_command(options.model, load);
    if (!loaded.ok()) return report_failure(loaded.error().message());
    const Model& model = loaded.value();
    if (model.info().rank > 0) return follow_rank_zero(model);
    if (!model.info().has_tokenizer) return report_failure(model.tokenize("").error().message());
    const size_t n_ctx = options.n_ctx > 0 ? options.n_ctx : std::min(model.info().n_ctx_train, kDefaultMaxContext);
    if (n_ctx < 2) return report_failure("--ctx must be at least 2 tokens");
    Result<std::optional<Model>> draft = load_draft_model(options.draft, model, load);
    if (!draft.ok()) return report_failure(draft.error().message());

    server::ServerMetrics metrics;
    BatcherOptions batching{.slots = options.parallel, .context = n_ctx, .max_queue = options.queue,
                            .max_draft = options.draft.source.empty() ? 0 : options.draft.max_tokens,
                            .adapt_draft = !options.draft.fixed,
                            .draft_model = draft.value() ? &*draft.value() : nullptr};
    batching.on_prompt = [&metrics](size_t tokens) { metrics.count_prompt_tokens(tokens); };
    batching.on_token = [&metrics](bool first, double seconds) {
        const std::chrono::duration<double> since(seconds);
        if (first) metrics.observe_time_to_first_token(since);
        else metrics.observe_time_between_tokens(since);
        metrics.count_completion_token();
    };
    batching.on_guesses = [&metrics](size_t checked, size_t held) { metrics.count_guesses(checked, held); };
    Result<Batcher> started = model.new_batcher(batching);
    if (!started.ok()) return report_failure(started.error().message());
    Batcher& batcher = started.value();
    server::HttpServer http(batcher, model,
                            {.host = options.host, .port = options.port, .api_keys = api_keys.value(),
                             .tls_cert = options.ssl_cert, .tls_key = options.ssl_key,
                             .model_name = model_id(options), .max_body_bytes = options.max_body_mb << 20,
                             .io_timeout_seconds = options.timeout, .http_threads = 0, .web_ui = !options.no_web_ui,
                             .n_ctx_train = model.info().n_ctx_train, .metrics = &metrics,
                             .max_connections_per_client = options.max_connections_per_client,
                             .max_connections = options.max_connections, .keep_alive_seconds = options.keep_alive});
    raise_descriptor_limit();
    Result<int> port = http.bind();
    if (!port.ok()) return report_failure(port.error().message());
    install_stop_handlers();
    std::printf("tern serve: %s; chat template '%s'; %zu slots x %zu tokens (KV cache %s, %.0f MiB); %d threads\n",
                model.info().description.c_str(), model.info().chat_template.c_str(), options.parallel, n_ctx,
                load.kv_type.c_str(), static_cast<double>(batcher.kv_cache_bytes()) / (1 << 20), model.info().threads);
    if (draft.value()) std::printf("tern serve: draft model %s\n", draft.value()->info().description.c_str());
    std::printf("tern serve: listening on %s://%s:%d%s%s\n", options.ssl_cert.empty() ? "http" : "https",
                options.host.c_str(), port.value(), api_keys.value().empty() ? "" : " (API key required)",
                options.no_web_ui ? "" : "; chat page at /");
    std::fflush(stdout);
    std::atomic<bool> serving_done{false};
    std::thread watcher(watch_for_stop, std::ref(http), std::chrono::seconds(options.timeout), std::cref(serving_done));
    http.serve();
    serving_done.store(true);
    watcher.join();
    batcher.shutdown();
    std::printf("tern serve: stopped\n");
    return 0;
}

}  // namespace tern::cli

// tern's OpenAI-compatible HTTP server: /v1/chat/completions and /v1/completions (streamed
// as server-sent events or whole), /v1/models, /health, /metrics, /tokenize and /detokenize,
// on top of the batch scheduler. The routes (request_handlers.h) sit behind an event-driven
// front (http_front.h). Every failure is an OpenAI-style JSON error with its HTTP status;
// nothing a client sends can crash or hang it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "server/http_router.h"
#include "tern/batcher.h"
#include "tern/model.h"
#include "tern/status.h"

namespace tern::server {

class HttpFront;
class RequestHandlers;
class ServerMetrics;

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                       // 0: any free port (bind() says which)
    std::vector<std::string> api_keys;     // empty: no authentication; else any one of them
    std::string tls_cert;                  // PEM files: HTTPS when both are set
    std::string tls_key;
    std::string model_name = "tern";       // the id /v1/models lists
    size_t max_body_bytes = size_t{8} << 20;
    int io_timeout_seconds = 10;           // a client silent this long mid-request is dropped
    size_t http_threads = 0;               // workers for completions; 0: one per slot and queued request, and spares
    bool web_ui = true;                    // the chat page at /
    size_t n_ctx_train = 0;                // reported by /v1/models beside the per-request context
    ServerMetrics* metrics = nullptr;      // GET /metrics when set (fed by the batcher, outliving the server)
    size_t max_connections_per_client = 0; // 0: no cap per client address
    size_t max_connections = 0;            // 0: what the descriptor limit allows
    int keep_alive_seconds = 5;            // an idle connection between requests is closed after this
};

class HttpServer {
public:
    // The model (with a tokenizer) answers /tokenize and renders chat prompts; the batcher,
    // made from it, generates. Both outlive the server.
    HttpServer(Batcher& batcher, const Model& model, ServerOptions options);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds the listening socket; returns the port.
    Result<int> bind();
    // Serves until stop(), then returns once the requests in flight have finished.
    void serve();
    // Stops accepting connections and cuts open streams; returns at once. Thread-safe, also
    // before serve().
    void stop();
    // The graceful way: refuse new requests (503), give those in flight up to `grace` to
    // finish, end the rest with an error they still receive, then stop().
    void shut_down_gracefully(std::chrono::milliseconds grace);
    size_t open_connections() const;

private:
    Batcher& batcher_;
    ServerOptions options_;
    std::unique_ptr<RequestHandlers> handlers_;
    HttpRouter router_;
    std::unique_ptr<HttpFront> front_;
};

}  // namespace tern::server

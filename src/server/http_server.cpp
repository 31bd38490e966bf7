#include "server/http_server.h"

#include <chrono>
#include <thread>

#include "server/http_front.h"
#include "server/request_handlers.h"

namespace tern::server {

namespace {

FrontOptions front_options(const ServerOptions& options, const BatcherLoad& load) {
    // A completion holds a worker while it runs or waits in the queue; with one for each of
    // those and spares for tokenizing, a full server answers 503 rather than making requests wait.
    const size_t workers = options.http_threads != 0 ? options.http_threads : load.slots + load.max_queue + 4;
    return {.host = options.host, .port = options.port, .tls_cert = options.tls_cert, .tls_key = options.tls_key,
            .max_body_bytes = options.max_body_bytes,
            .io_timeout = std::chrono::seconds(options.io_timeout_seconds),
            .keep_alive_timeout = std::chrono::seconds(options.keep_alive_seconds),
            .max_connections_per_client = options.max_connections_per_client,
            .max_connections = options.max_connections, .workers = workers};
}

}  // namespace

HttpServer::HttpServer(Batcher& batcher, const Model& model, ServerOptions options)
    : batcher_(batcher),
      options_(std::move(options)),
      handlers_(std::make_unique<RequestHandlers>(batcher, model, options_, options_.metrics)) {
    handlers_->install(router_);
    front_ = std::make_unique<HttpFront>(router_, front_options(options_, batcher.load()));
}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::bind() { return front_->bind(); }

void HttpServer::serve() { front_->run(); }

void HttpServer::stop() { front_->stop(); }

size_t HttpServer::open_connections() const { return front_->open_connections(); }

void HttpServer::shut_down_gracefully(std::chrono::milliseconds grace) {
    batcher_.begin_drain();
    auto wait_for = [](std::chrono::milliseconds limit, const auto& done) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    };
    wait_for(grace, [&] { return handlers_->in_flight() == 0; });
    batcher_.shutdown();
    // The requests just ended write their error; a client too slow to take it is cut off.
    wait_for(std::chrono::milliseconds(1000), [&] { return handlers_->in_flight() == 0; });
    stop();
}

}  // namespace tern::server

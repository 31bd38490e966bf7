#include "server/http_server.h"

#include <httplib.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "core/str_cat.h"
#include "server/request_handlers.h"

namespace tern::server {

HttpServer::HttpServer(BatchScheduler& scheduler, const tokenizer::Tokenizer& tokenizer,
                       tokenizer::ChatTemplate chat_template, ServerOptions options)
    : scheduler_(scheduler),
      options_(std::move(options)),
      handlers_(std::make_unique<RequestHandlers>(scheduler, tokenizer, chat_template, options_, options_.metrics)),
      http_(options_.tls_cert.empty() ? std::make_unique<httplib::Server>()
                                      : std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str())) {
    const SchedulerLoad load = scheduler.load();
    // Each streaming request holds a thread while it runs; with room for every slot and queued
    // request, a busy server answers 503 rather than leaving connections unanswered.
    const size_t threads = options_.http_threads != 0 ? options_.http_threads : std::max<size_t>(8, 2 * load.n_slots + 8);
    http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http_->set_payload_max_length(options_.max_body_bytes);
    http_->set_read_timeout(options_.io_timeout_seconds, 0);
    http_->set_write_timeout(options_.io_timeout_seconds, 0);
    http_->set_keep_alive_timeout(5);
    http_->set_keep_alive_max_count(1000);
    http_->set_tcp_nodelay(true);   // a streamed token should leave at once
    handlers_->install(*http_);
}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::bind() {
    // A client that disconnects makes the next write fail with EPIPE; without this the
    // signal would kill the process (cpp-httplib sends without MSG_NOSIGNAL).
    std::signal(SIGPIPE, SIG_IGN);
    if (!http_->is_valid())
        return Error(str_cat("cannot use the TLS certificate '", options_.tls_cert, "' with the key '", options_.tls_key,
                             "' (unreadable, not PEM, or they do not match)"));
    const int port = options_.port == 0 ? http_->bind_to_any_port(options_.host)
                                        : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
    if (port < 0) return Error(str_cat("cannot listen on ", options_.host, ":", options_.port));
    return port;
}

void HttpServer::serve() {
    serving_.store(true);
    if (!stop_requested_.load()) http_->listen_after_bind();
    serving_.store(false);
}

void HttpServer::shut_down_gracefully(std::chrono::milliseconds grace) {
    scheduler_.begin_drain();
    auto wait_for = [](std::chrono::milliseconds limit, const auto& done) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    };
    wait_for(grace, [&] { return handlers_->in_flight() == 0; });
    scheduler_.shutdown();
    // The requests just ended write their error; a client too slow to take it is cut off.
    wait_for(std::chrono::milliseconds(1000), [&] { return handlers_->in_flight() == 0; });
    stop();
}

void HttpServer::stop() {
    stop_requested_.store(true);
    // serve() may be between its check and the listening loop: wait until it runs or returns.
    while (serving_.load() && !http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    http_->stop();
}

}  // namespace tern::server

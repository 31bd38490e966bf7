// The event-driven HTTP/1.1 front of tern serve (Boost.Asio and Beast's parser): one thread
// waits on every socket, so a connection that sends half a request and stalls costs a buffer,
// not a thread. Complete requests go to the router: quick routes are answered on the front's
// thread, slow ones (completions, tokenizing) on a pool of workers. Deadlines close a client
// that stalls in its headers, its body or its reading; a cap per client address and one in
// all keep a flood from taking every descriptor. TLS when given a certificate.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "server/http_router.h"
#include "tern/status.h"

namespace tern::server {

struct FrontOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                            // 0: any free port (bind() says which)
    std::string tls_cert = {};                  // PEM files: HTTPS when both are set
    std::string tls_key = {};
    size_t max_body_bytes = size_t{8} << 20;
    size_t max_header_bytes = size_t{16} << 10;
    std::chrono::milliseconds io_timeout{10000};     // for the headers, for the body, for each write
    std::chrono::milliseconds keep_alive_timeout{5000};   // an idle connection between requests
    size_t max_connections_per_client = 0;      // 0: no cap per address
    size_t max_connections = 0;                 // 0: what the descriptor limit allows
    size_t workers = 8;                         // threads for slow routes and streamed bodies
};

class HttpFront {
public:
    HttpFront(const HttpRouter& router, FrontOptions options);
    ~HttpFront();
    HttpFront(const HttpFront&) = delete;
    HttpFront& operator=(const HttpFront&) = delete;

    // Reads the certificate (when given) and binds the listening socket; returns the port.
    Result<int> bind();
    // Serves until stop(), then returns once the workers have finished.
    void run();
    // Stops accepting and cuts every connection; returns at once. Thread-safe, also before run().
    void stop();
    size_t open_connections() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace tern::server

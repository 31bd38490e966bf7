// What tern serve's routes see of HTTP: a request read in full, a response to fill in, and for
// streamed answers a sink that writes one chunk at a time. The event-driven front
// (http_front.h) turns bytes into these and back; the routes (request_handlers.h) never touch
// a socket, so either side can change without the other.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::server {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The value of the header `name` (compared without case), or "" when there is none.
std::string_view find_header(const HttpHeaders& headers, std::string_view name);

// Whether the client of one request is still connected. The front marks it gone when the
// peer hangs up; a route waiting for a generation registers what to do then, which runs at
// once on the front's thread instead of at the route's next poll. While the server stops,
// every client counts as gone.
class ClientPresence {
public:
    explicit ClientPresence(const std::atomic<bool>* server_stopping = nullptr) : server_stopping_(server_stopping) {}
    bool gone() const {
        if (server_stopping_ != nullptr && server_stopping_->load()) return true;
        std::lock_guard lock(mutex_);
        return gone_;
    }
    // Runs `on_gone` when the client leaves, or now if it has already left.
    void on_gone(std::function<void()> on_gone);
    void mark_gone();

private:
    const std::atomic<bool>* server_stopping_;
    mutable std::mutex mutex_;
    bool gone_ = false;
    std::function<void()> on_gone_;
};

struct HttpRequest {
    std::string method;
    std::string path;     // the target without its query
    HttpHeaders headers;
    std::string body;
    std::string remote_address;
    std::vector<std::string> matches;   // set by the router: what a route's trailing "*" matched
    std::shared_ptr<ClientPresence> client = std::make_shared<ClientPresence>();

    std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

// Where a streamed body goes, chunk by chunk.
class ResponseSink {
public:
    virtual ~ResponseSink() = default;
    // Sends `data` and waits until it is written; false when the client has gone or stopped
    // reading for longer than the server's I/O timeout (the connection is then closed).
    virtual bool write(std::string_view data) = 0;
};

struct HttpResponse {
    int status = 200;
    HttpHeaders headers;
    std::string body;
    // Set for a streamed (chunked) body: run on a worker thread once the status line and
    // headers are sent; the response ends when it returns.
    std::function<void(ResponseSink&)> stream;

    void set_header(std::string name, std::string value);
    void set_content(std::string content, std::string content_type);
};

}  // namespace tern::server

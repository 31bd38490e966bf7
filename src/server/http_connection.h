// One client connection of the HTTP front (http_front.h), plain or TLS: reads requests with
// Beast's parser under deadlines, hands them to the router, writes the answers, and reads
// ahead while a request runs so that a client hanging up is noticed at once. Internal to the
// front; Boost stays out of every other header.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <string>

#include "server/http_front.h"
#include "server/http_router.h"

namespace tern::server {

// What every connection shares with the front; the front outlives its connections.
struct ConnectionContext {
    const HttpRouter* router = nullptr;
    const FrontOptions* options = nullptr;
    boost::asio::thread_pool* workers = nullptr;
    const std::atomic<bool>* stopping = nullptr;
};

// Holds the connection's place in the front's counts; `release` runs when the connection ends.
class ConnectionTicket {
public:
    explicit ConnectionTicket(std::function<void()> release) : release_(std::move(release)) {}
    ~ConnectionTicket() {
        if (release_) release_();
    }
    ConnectionTicket(ConnectionTicket&& other) noexcept : release_(std::move(other.release_)) { other.release_ = nullptr; }
    ConnectionTicket(const ConnectionTicket&) = delete;
    ConnectionTicket& operator=(const ConnectionTicket&) = delete;
    ConnectionTicket& operator=(ConnectionTicket&&) = delete;

private:
    std::function<void()> release_;
};

void start_plain_connection(boost::asio::ip::tcp::socket socket, const ConnectionContext& context,
                            std::string remote_address, ConnectionTicket ticket);
void start_tls_connection(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls,
                          const ConnectionContext& context, std::string remote_address, ConnectionTicket ticket);

// The whole response text (status line, headers, body) for a response that is not streamed;
// `head_only` (a HEAD request) leaves the body out but keeps its length.
std::string serialize_response(const HttpResponse& response, bool keep_alive, bool head_only);

}  // namespace tern::server

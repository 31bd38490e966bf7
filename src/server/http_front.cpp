#include "server/http_front.h"

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/str_cat.h"
#include "server/http_connection.h"

namespace tern::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

// Descriptors kept back from the connection limit for the model, logs and the like.
constexpr size_t kReservedDescriptors = 64;
// After accept() fails for want of descriptors, when to try again.
constexpr std::chrono::milliseconds kAcceptRetry{50};

size_t connections_the_descriptor_limit_allows() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 65536;
    return limit.rlim_cur > 2 * kReservedDescriptors ? limit.rlim_cur - kReservedDescriptors : kReservedDescriptors;
}

std::optional<tcp::endpoint> listening_endpoint(net::io_context& io, const std::string& host, int port) {
    error_code ec;
    const net::ip::address address = net::ip::make_address(host, ec);
    if (!ec) return tcp::endpoint(address, static_cast<unsigned short>(port));
    tcp::resolver resolver(io);
    const auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || found.empty()) return std::nullopt;
    return found.begin()->endpoint();
}

}  // namespace

struct HttpFront::State {
    State(const HttpRouter& router, FrontOptions options) : router(router), options(std::move(options)) {}

    const HttpRouter& router;
    FrontOptions options;
    // Declared before the I/O context: connections it still holds count themselves out here
    // when it is destroyed.
    mutable std::mutex counts_mutex;
    std::unordered_map<std::string, size_t> open_per_client;
    size_t open = 0;
    size_t max_connections = 0;
    std::atomic<bool> stopping{false};
    std::optional<net::ssl::context> tls;

    net::io_context io{1};
    std::optional<net::thread_pool> workers;   // destroyed first: its queued tasks hold connections
    tcp::acceptor acceptor{io};
    net::steady_timer accept_retry{io};

    ConnectionContext context() { return {.router = &router, .options = &options, .workers = &*workers, .stopping = &stopping}; }

    // {0, ""} when the connection may open (and is counted), else the status and why not.
    std::pair<int, std::string> admit(const std::string& client) {
        std::lock_guard lock(counts_mutex);
        if (open >= max_connections)
            return {503, str_cat("the server is at its limit of ", max_connections, " open connections")};
        size_t& mine = open_per_client[client];
        if (options.max_connections_per_client != 0 && mine >= options.max_connections_per_client)
            return {429, str_cat("too many connections from ", client, " (the server allows ",
                                 options.max_connections_per_client, " per client)")};
        ++mine;
        ++open;
        return {0, ""};
    }

    void release(const std::string& client) {
        std::lock_guard lock(counts_mutex);
        --open;
        if (--open_per_client[client] == 0) open_per_client.erase(client);
    }

    // A refused connection gets its error if the socket takes it at once, then is closed
    // without waiting: a flood of refused connections must not hold descriptors. What the
    // client has already sent is read first, since closing on unread bytes would reset the
    // connection and could discard the error before the client reads it.
    void refuse(tcp::socket socket, int status, const std::string& message) {
        error_code ignored;
        socket.non_blocking(true, ignored);
        if (!tls) {
            const std::string text = serialize_response(router.error_response(status, message), false, false);
            socket.send(net::buffer(text), 0, ignored);
        }
        socket.shutdown(tcp::socket::shutdown_send, ignored);
        std::array<char, 4096> unread{};
        for (int i = 0; i < 16; ++i) {
            error_code read_ec;
            if (socket.receive(net::buffer(unread), 0, read_ec) == 0 || read_ec) break;
        }
        socket.close(ignored);
    }

    void accept() {
        acceptor.async_accept(net::make_strand(io), [this](error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted || stopping.load()) return;
            if (ec) {   // out of descriptors, most likely: try again shortly rather than spin
                accept_retry.expires_after(kAcceptRetry);
                accept_retry.async_wait([this](error_code wait_ec) {
                    if (!wait_ec) accept();
                });
                return;
            }
            on_accept(std::move(socket));
            accept();
        });
    }

    void on_accept(tcp::socket socket) {
        error_code ec;
        const tcp::endpoint peer = socket.remote_endpoint(ec);
        if (ec) return;   // already gone
        std::string client = peer.address().to_string();
        const auto [status, refusal] = admit(client);
        if (status != 0) return refuse(std::move(socket), status, refusal);
        socket.set_option(tcp::no_delay(true), ec);   // a streamed token should leave at once
        ConnectionTicket ticket([this, client] { release(client); });
        if (tls)
            start_tls_connection(std::move(socket), *tls, context(), std::move(client), std::move(ticket));
        else
            start_plain_connection(std::move(socket), context(), std::move(client), std::move(ticket));
    }
};

HttpFront::HttpFront(const HttpRouter& router, FrontOptions options)
    : state_(std::make_unique<State>(router, std::move(options))) {
    state_->workers.emplace(std::max<size_t>(1, state_->options.workers));
}

HttpFront::~HttpFront() {
    stop();
    state_->workers->join();
}

Result<int> HttpFront::bind() {
    State& s = *state_;
    if (!s.options.tls_cert.empty() || !s.options.tls_key.empty()) {
        s.tls.emplace(net::ssl::context::tls_server);
        s.tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                           net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
        error_code cert_ec, key_ec;
        s.tls->use_certificate_chain_file(s.options.tls_cert, cert_ec);
        s.tls->use_private_key_file(s.options.tls_key, net::ssl::context::pem, key_ec);
        if (cert_ec || key_ec || SSL_CTX_check_private_key(s.tls->native_handle()) != 1)
            return Error(str_cat("cannot use the TLS certificate '", s.options.tls_cert, "' with the key '",
                                 s.options.tls_key, "' (unreadable, not PEM, or they do not match)"));
    }
    s.max_connections = s.options.max_connections != 0 ? s.options.max_connections : connections_the_descriptor_limit_allows();
    const std::string where = str_cat(s.options.host, ":", s.options.port);
    const std::optional<tcp::endpoint> endpoint = listening_endpoint(s.io, s.options.host, s.options.port);
    if (!endpoint) return Error(str_cat("cannot listen on ", where, ": the host name does not resolve"));
    error_code ec;
    s.acceptor.open(endpoint->protocol(), ec);
    if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) s.acceptor.bind(*endpoint, ec);
    if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Error(str_cat("cannot listen on ", where, ": ", ec.message()));
    return static_cast<int>(s.acceptor.local_endpoint().port());
}

void HttpFront::run() {
    State& s = *state_;
    if (!s.stopping.load() && s.acceptor.is_open()) {
        s.accept();
        s.io.run();
    }
    s.stopping.store(true);
    s.workers->join();
}

void HttpFront::stop() {
    state_->stopping.store(true);
    state_->io.stop();
}

size_t HttpFront::open_connections() const {
    std::lock_guard lock(state_->counts_mutex);
    return state_->open;
}

}  // namespace tern::server

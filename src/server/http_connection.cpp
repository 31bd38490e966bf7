#include "server/http_connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

#include "core/str_cat.h"

namespace tern::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

constexpr size_t kReadAheadChunk = 4096;
// After the last response, how long a closing connection waits for the client to finish.
constexpr std::chrono::milliseconds kClosingGrace{1000};

std::string as_string(beast::string_view text) { return std::string(text.data(), text.size()); }

std::string chunk_frame(std::string_view data) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return str_cat(size, data, "\r\n");
}

bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

std::string response_head(const HttpResponse& response, bool keep_alive, std::string_view framing) {
    const beast::string_view reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(response.status)));
    std::string head = str_cat("HTTP/1.1 ", response.status, " ", as_string(reason), "\r\n");
    // Headers come from tern's routes, but one that echoed client text must not be able to
    // split the response: a header holding a line break is left out.
    for (const auto& [name, value] : response.headers)
        if (!has_line_break(name) && !has_line_break(value)) head += str_cat(name, ": ", value, "\r\n");
    return str_cat(head, framing, "Connection: ", keep_alive ? "keep-alive" : "close", "\r\n\r\n");
}

// Malformed HTTP, as opposed to a connection that ended or failed.
bool is_parse_error(const error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_target).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// A worker thread waiting for one write done on the front's thread.
class WriteWait {
public:
    void finish(bool ok) {
        {
            std::lock_guard lock(mutex_);
            ok_ = ok;
            done_ = true;
        }
        finished_.notify_all();
    }
    bool wait(const std::atomic<bool>& stopping) {
        std::unique_lock lock(mutex_);
        while (!done_) {
            if (stopping.load()) return false;   // the front's thread may never run the write
            finished_.wait_for(lock, std::chrono::milliseconds(100));
        }
        return ok_;
    }

private:
    std::mutex mutex_;
    std::condition_variable finished_;
    bool done_ = false;
    bool ok_ = false;
};

template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
public:
    static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

    template <class... StreamArgs>
    Connection(const ConnectionContext& context, std::string remote_address, ConnectionTicket ticket,
               StreamArgs&&... stream_args)
        : stream_(std::forward<StreamArgs>(stream_args)...),
          deadline_(stream_.get_executor()),
          context_(context),
          remote_address_(std::move(remote_address)),
          ticket_(std::move(ticket)) {}

    void start() {
        if constexpr (kTls) {
            arm(options().io_timeout);
            stream_.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
                self->disarm();
                if (ec) return self->close();
                self->read_header();
            });
        } else {
            read_header();
        }
    }

private:
    // Where a streamed body's chunks go: through the front's thread, one at a time.
    class ChunkSink final : public ResponseSink {
    public:
        ChunkSink(Connection& connection, bool ok) : connection_(connection), ok_(ok) {}
        bool write(std::string_view data) override {
            if (ok_ && !data.empty()) ok_ = connection_.write_from_worker(chunk_frame(data));
            return ok_;
        }
        bool ok() const { return ok_; }

    private:
        Connection& connection_;
        bool ok_;
    };

    const FrontOptions& options() const { return *context_.options; }
    tcp::socket& socket() { return beast::get_lowest_layer(stream_); }
    std::shared_ptr<Connection> self() { return this->shared_from_this(); }

    // One deadline covers whatever is pending; when it passes, the pending operations are
    // cancelled (the socket stays open, so an error can still be written).
    void arm(std::chrono::milliseconds limit) {
        timed_out_ = false;
        deadline_.expires_after(limit);
        deadline_.async_wait([weak = this->weak_from_this(), generation = ++deadline_generation_](error_code ec) {
            const std::shared_ptr<Connection> connection = weak.lock();
            if (ec || !connection || generation != connection->deadline_generation_) return;
            connection->timed_out_ = true;
            error_code ignored;
            connection->socket().cancel(ignored);
        });
    }
    void disarm() {
        ++deadline_generation_;
        deadline_.cancel();
    }

    void read_header() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
        parser_->body_limit(options().max_body_bytes);
        arm(options().io_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = self()](error_code ec, size_t) { self->on_header(ec); });
    }

    void on_header(error_code ec) {
        if (ec) return on_read_error(ec);
        if (beast::iequals(parser_->get()[http::field::expect], "100-continue"))
            return write_bytes("HTTP/1.1 100 Continue\r\n\r\n", [self = self()](bool ok) {
                if (!ok) return self->close();
                self->read_body();
            });
        read_body();
    }

    void read_body() {
        if (parser_->is_done()) return on_request();
        arm(options().io_timeout);
        http::async_read(stream_, buffer_, *parser_, [self = self()](error_code ec, size_t) {
            if (ec) return self->on_read_error(ec);
            self->on_request();
        });
    }

    void on_read_error(error_code ec) {
        disarm();
        const bool got_some = parser_ && parser_->got_some();
        if (timed_out_ || ec == net::error::operation_aborted) {
            if (!got_some || context_.stopping->load()) return close();
            const auto seconds = std::chrono::duration<double>(options().io_timeout).count();
            return fail_request(400, str_cat("the request could not be read: the client sent nothing for ", seconds,
                                             " s in the middle of it"));
        }
        if (ec == http::error::body_limit)
            return fail_request(413, str_cat("the request body is larger than the ", options().max_body_bytes,
                                             " bytes the server accepts"));
        if (ec == http::error::header_limit)
            return fail_request(431, str_cat("the request headers are larger than the ", options().max_header_bytes,
                                             " bytes the server accepts"));
        if (is_parse_error(ec)) return fail_request(400, str_cat("the request could not be read (malformed HTTP: ", ec.message(), ")"));
        close();   // the client closed or reset the connection
    }

    void fail_request(int status, const std::string& message) {
        keep_alive_ = false;
        responding_ = true;
        send_response(context_.router->error_response(status, message));
    }

    HttpRequest take_request() {
        auto& message = parser_->get();
        HttpRequest request;
        request.method = as_string(message.method_string());
        const std::string target = as_string(message.target());
        request.path = target.substr(0, target.find('?'));
        for (const auto& field : message) request.headers.emplace_back(as_string(field.name_string()), as_string(field.value()));
        request.body = std::move(message.body());
        request.remote_address = remote_address_;
        request.client = std::make_shared<ClientPresence>(context_.stopping);
        keep_alive_ = message.keep_alive() && !context_.stopping->load();
        head_only_ = request.method == "HEAD";
        parser_.reset();
        return request;
    }

    void on_request() {
        disarm();
        HttpRequest request = take_request();
        presence_ = request.client;
        responding_ = true;
        read_ahead();
        if (context_.router->is_quick(request)) {
            HttpResponse response;
            context_.router->dispatch(request, response);
            if (!response.stream) return send_response(std::move(response));
            return net::post(*context_.workers, [self = self(), response = std::move(response)]() mutable {
                self->stream_from_worker(std::move(response));
            });
        }
        net::post(*context_.workers, [self = self(), request = std::move(request)]() mutable {
            HttpResponse response;
            self->context_.router->dispatch(request, response);
            if (response.stream) return self->stream_from_worker(std::move(response));
            net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
                self->send_response(std::move(response));
            });
        });
    }

    // Keeps a read pending while a request runs: a client that hangs up is noticed at once
    // (its request is told, and stops generating), and what it sends next is kept for later.
    void read_ahead() {
        if (read_ahead_pending_ || read_ahead_failed_ || buffer_.size() != 0) return;
        read_ahead_pending_ = true;
        stream_.async_read_some(buffer_.prepare(kReadAheadChunk),
                                [self = self()](error_code ec, size_t n) { self->on_read_ahead(ec, n); });
    }

    void on_read_ahead(error_code ec, size_t n) {
        read_ahead_pending_ = false;
        if (ec) {
            read_ahead_failed_ = true;
            if (presence_) presence_->mark_gone();
            if (!responding_) close();
            return;
        }
        buffer_.commit(n);
        // The client sent more (the next request, pipelined): it waits in the buffer, and the
        // read ahead stops, so the next request is parsed as soon as this one is answered.
        if (!responding_) read_header();
    }

    // On a worker: the status line and headers, the chunks the route writes, the last chunk.
    void stream_from_worker(HttpResponse response) {
        std::function<void(ResponseSink&)> body = std::move(response.stream);
        response.stream = nullptr;
        // When the head cannot be written the route still runs, finds its sink failed, and
        // cleans up as for any client that has gone.
        ChunkSink sink(*this, write_from_worker(response_head(response, keep_alive_, "Transfer-Encoding: chunked\r\n")));
        body(sink);
        const bool ok = sink.ok() && write_from_worker("0\r\n\r\n");
        net::post(stream_.get_executor(), [self = self(), ok] { self->response_done(ok); });
    }

    bool write_from_worker(std::string bytes) {
        auto wait = std::make_shared<WriteWait>();
        net::post(stream_.get_executor(), [self = self(), bytes = std::move(bytes), wait]() mutable {
            self->write_bytes(std::move(bytes), [wait](bool ok) { wait->finish(ok); });
        });
        return wait->wait(*context_.stopping);
    }

    void send_response(HttpResponse response) {
        write_bytes(serialize_response(response, keep_alive_, head_only_),
                    [self = self()](bool ok) { self->response_done(ok); });
    }

    void write_bytes(std::string bytes, std::function<void(bool)> on_done) {
        if (closed_) return on_done(false);
        auto buffer = std::make_shared<std::string>(std::move(bytes));
        arm(options().io_timeout);
        net::async_write(stream_, net::buffer(*buffer),
                         [self = self(), buffer, on_done = std::move(on_done)](error_code ec, size_t) {
                             self->disarm();
                             if (ec) self->close();
                             on_done(!ec);
                         });
    }

    void response_done(bool ok) {
        responding_ = false;
        presence_.reset();
        if (!ok || closed_) return close();
        if (!keep_alive_ || read_ahead_failed_) return close_gracefully();
        if (read_ahead_pending_) return arm(options().keep_alive_timeout);   // it reads the next request
        read_header();
    }

    // Stops sending, then reads what the client still sends until it closes (or a second
    // passes), so that closing does not reset the connection before the client has read the
    // last response.
    void close_gracefully() {
        if (closed_) return;
        arm(kClosingGrace);
        if constexpr (kTls) {
            stream_.async_shutdown([self = self()](error_code) { self->close(); });
        } else {
            error_code ignored;
            socket().shutdown(tcp::socket::shutdown_send, ignored);
            drain();
        }
    }

    void drain() {
        auto scratch = std::make_shared<std::array<char, 1024>>();
        socket().async_read_some(net::buffer(*scratch), [self = self(), scratch](error_code ec, size_t) {
            if (ec) return self->close();
            self->drain();
        });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        disarm();
        if (presence_) presence_->mark_gone();
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }

    Stream stream_;
    net::steady_timer deadline_;
    uint64_t deadline_generation_ = 0;
    bool timed_out_ = false;
    ConnectionContext context_;
    std::string remote_address_;
    ConnectionTicket ticket_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::shared_ptr<ClientPresence> presence_;   // of the request being answered
    bool keep_alive_ = false;
    bool head_only_ = false;
    bool responding_ = false;
    bool read_ahead_pending_ = false;
    bool read_ahead_failed_ = false;
    bool closed_ = false;
};

}  // namespace

std::string serialize_response(const HttpResponse& response, bool keep_alive, bool head_only) {
    const bool has_body = response.status >= 200 && response.status != 204 && response.status != 304;
    std::string text = response_head(response, keep_alive, has_body ? str_cat("Content-Length: ", response.body.size(), "\r\n") : "");
    if (has_body && !head_only) text += response.body;
    return text;
}

void start_plain_connection(tcp::socket socket, const ConnectionContext& context, std::string remote_address,
                            ConnectionTicket ticket) {
    std::make_shared<Connection<tcp::socket>>(context, std::move(remote_address), std::move(ticket), std::move(socket))
        ->start();
}

void start_tls_connection(tcp::socket socket, net::ssl::context& tls, const ConnectionContext& context,
                          std::string remote_address, ConnectionTicket ticket) {
    std::make_shared<Connection<beast::ssl_stream<tcp::socket>>>(context, std::move(remote_address), std::move(ticket),
                                                                 std::move(socket), tls)
        ->start();
}

}  // namespace tern::server

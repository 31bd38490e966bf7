// The event-driven HTTP front under hostile and unusual clients, with routes that stand in for
// the model (no model is loaded): half-sent requests by the thousand, slow senders and
// readers, hang-ups, floods beyond the connection caps, keep-alive, pipelining, 100-continue.
#include "server/http_front.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server/http_router.h"
#include "server/raw_socket.h"

namespace tern::server {
namespace {

using namespace std::chrono_literals;
using tern::testing::RawSocket;
using Clock = std::chrono::steady_clock;

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return condition();
}

// What the slow routes saw, for the test to wait on.
struct RouteLog {
    std::atomic<int> hangups_seen{0};
    std::atomic<int> stream_write_failures{0};
};

HttpRouter test_router(RouteLog& log) {
    HttpRouter router;
    router.set_default_headers({{"Access-Control-Allow-Origin", "*"}});
    router.add("GET", "/health", [](HttpRequest&, HttpResponse& res) { res.set_content("{\"status\":\"ok\"}", "application/json"); },
               RouteCost::kQuick);
    router.add("POST", "/echo", [](HttpRequest& req, HttpResponse& res) { res.set_content(req.body, "text/plain"); },
               RouteCost::kSlow);
    router.add("GET", "/items/*", [](HttpRequest& req, HttpResponse& res) { res.set_content(req.matches.at(0), "text/plain"); },
               RouteCost::kQuick);
    // Waits, as a non-streaming completion does, until its client hangs up or the server stops.
    router.add("POST", "/wait", [&log](HttpRequest& req, HttpResponse& res) {
        auto hung_up = std::make_shared<std::atomic<bool>>(false);
        req.client->on_gone([hung_up, &log] {
            hung_up->store(true);
            ++log.hangups_seen;
        });
        while (!hung_up->load() && !req.client->gone()) std::this_thread::sleep_for(1ms);
        res.set_content("released", "text/plain");
    }, RouteCost::kSlow);
    // Streams 64 KiB chunks until the client stops taking them.
    router.add("GET", "/flood", [&log](HttpRequest&, HttpResponse& res) {
        res.set_header("Content-Type", "text/plain");
        res.stream = [&log](ResponseSink& sink) {
            const std::string chunk(64 << 10, 'x');
            for (int i = 0; i < 100000; ++i)
                if (!sink.write(chunk)) {
                    ++log.stream_write_failures;
                    return;
                }
        };
    }, RouteCost::kSlow);
    router.add("GET", "/count", [](HttpRequest&, HttpResponse& res) {
        res.set_header("Content-Type", "text/plain");
        res.stream = [](ResponseSink& sink) {
            for (int i = 0; i < 3; ++i) sink.write(std::to_string(i));
        };
    }, RouteCost::kSlow);
    return router;
}

class RunningFront {
public:
    explicit RunningFront(FrontOptions options) : router_(test_router(log_)), front_(router_, with_test_defaults(options)) {
        Result<int> port = front_.bind();
        EXPECT_TRUE(port.ok()) << (port.ok() ? "" : port.error().message());
        port_ = port.ok() ? port.value() : 0;
        thread_ = std::thread([this] { front_.run(); });
    }
    ~RunningFront() {
        front_.stop();
        thread_.join();
    }
    int port() const { return port_; }
    RouteLog& log() { return log_; }
    size_t open_connections() const { return front_.open_connections(); }

private:
    static FrontOptions with_test_defaults(FrontOptions options) {
        options.host = "127.0.0.1";
        options.port = 0;
        return options;
    }
    RouteLog log_;
    HttpRouter router_;
    HttpFront front_;
    int port_ = 0;
    std::thread thread_;
};

std::string get(const std::string& path, const std::string& extra_headers = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra_headers + "\r\n";
}

std::string post(const std::string& path, const std::string& body, const std::string& extra_headers = "") {
    return "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           extra_headers + "\r\n" + body;
}

// One request on a fresh connection; the whole reply, or "" when none came.
std::string exchange(int port, const std::string& request) {
    RawSocket socket(port);
    socket.send(request);
    return socket.receive_until("\r\n\r\n");
}

// Each of a thousand connections holds this much of a request and nothing more.
constexpr size_t kHalfSent = 1000;

TEST(HttpFront, AThousandHalfSentRequestsHoldNoThreadAndTheDeadlineClosesThem) {
    // Both ends of every connection live in this process.
    if (!tern::testing::make_room_for_descriptors(2 * kHalfSent + 256)) GTEST_SKIP() << "the descriptor limit is below " << 2 * kHalfSent + 256;
    RunningFront front({.io_timeout = 2000ms, .workers = 2});
    std::vector<std::unique_ptr<RawSocket>> stalled;
    for (size_t i = 0; i < kHalfSent; ++i) {
        stalled.push_back(std::make_unique<RawSocket>(front.port()));
        ASSERT_TRUE(stalled.back()->connected()) << i;
        // Half of them stop inside the headers, half inside the body.
        stalled.back()->send(i % 2 == 0 ? "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Le"
                                        : "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n{\"pr");
    }
    ASSERT_TRUE(wait_until([&] { return front.open_connections() == kHalfSent; }, 5s)) << front.open_connections();
    // With every one of them waiting, a quick route and a slow one still answer at once.
    for (int round = 0; round < 3; ++round) {
        const auto start = Clock::now();
        const std::string health = exchange(front.port(), get("/health"));
        const auto health_time = Clock::now() - start;
        EXPECT_TRUE(health.starts_with("HTTP/1.1 200")) << health;
        EXPECT_LT(health_time, 100ms);
        const auto echo_start = Clock::now();
        RawSocket socket(front.port());
        socket.send(post("/echo", "ping"));
        const std::string echo = socket.receive_until("ping");
        EXPECT_LT(Clock::now() - echo_start, 100ms);
        EXPECT_NE(echo.find("ping"), std::string::npos) << echo;
    }
    // At the deadline each gets a 400 and is closed.
    for (size_t i = 0; i < kHalfSent; i += 97) {
        const std::string reply = stalled[i]->receive_all();
        EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << i << ": " << reply;
        EXPECT_NE(reply.find("sent nothing for 2 s"), std::string::npos) << reply;
    }
    EXPECT_TRUE(wait_until([&] { return front.open_connections() == 0; }, 5s)) << front.open_connections();
}

TEST(HttpFront, ConnectionsBeyondTheCapPerClientGet429AndTheRestGoOn) {
    RunningFront front({.max_connections_per_client = 4});
    std::vector<std::unique_ptr<RawSocket>> held;
    for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<RawSocket>(front.port()));
    ASSERT_TRUE(wait_until([&] { return front.open_connections() == 4; }, 2s));
    const std::string refused = exchange(front.port(), get("/health"));
    EXPECT_TRUE(refused.starts_with("HTTP/1.1 429")) << refused;
    RawSocket fifth(front.port());
    fifth.send(get("/health"));
    const std::string body = fifth.receive_all();
    EXPECT_NE(body.find("too many connections from 127.0.0.1 (the server allows 4 per client)"), std::string::npos) << body;
    // A held connection still works, and one closed makes room.
    held[0]->send(get("/health"));
    EXPECT_TRUE(held[0]->receive_until("ok").starts_with("HTTP/1.1 200"));
    held[1]->close();
    ASSERT_TRUE(wait_until([&] { return front.open_connections() == 3; }, 2s));
    EXPECT_TRUE(exchange(front.port(), get("/health")).starts_with("HTTP/1.1 200"));
}

TEST(HttpFront, ConnectionsBeyondTheTotalCapGet503) {
    RunningFront front({.max_connections = 2});
    RawSocket first(front.port()), second(front.port());
    ASSERT_TRUE(wait_until([&] { return front.open_connections() == 2; }, 2s));
    const std::string refused = exchange(front.port(), get("/health"));
    EXPECT_TRUE(refused.starts_with("HTTP/1.1 503")) << refused;
    EXPECT_NE(refused.find("limit of 2 open connections"), std::string::npos) << refused;
}

TEST(HttpFront, AClientThatHangsUpIsToldToItsRouteAtOnce) {
    RunningFront front({});
    RawSocket socket(front.port());
    socket.send(post("/wait", ""));
    std::this_thread::sleep_for(50ms);   // the route is waiting now
    EXPECT_EQ(front.log().hangups_seen.load(), 0);
    const auto start = Clock::now();
    socket.close();
    EXPECT_TRUE(wait_until([&] { return front.log().hangups_seen.load() == 1; }, 1s));
    EXPECT_LT(Clock::now() - start, 100ms);
    EXPECT_TRUE(wait_until([&] { return front.open_connections() == 0; }, 2s));
}

TEST(HttpFront, ASlowReaderIsCutOffAtTheWriteDeadline) {
    RunningFront front({.io_timeout = 500ms});
    RawSocket reader(front.port(), /*receive_buffer=*/4096);
    reader.send(get("/flood"));
    // It never reads: the buffers fill, a write waits past the deadline, the stream ends.
    const auto start = Clock::now();
    EXPECT_TRUE(wait_until([&] { return front.log().stream_write_failures.load() == 1; }, 5s));
    EXPECT_LT(Clock::now() - start, 3s);
    EXPECT_TRUE(wait_until([&] { return front.open_connections() == 0; }, 2s)) << front.open_connections();
    EXPECT_TRUE(exchange(front.port(), get("/health")).starts_with("HTTP/1.1 200"));
}

TEST(HttpFront, KeepAlivePipeliningAndChunkedStreams) {
    RunningFront front({});
    RawSocket socket(front.port());
    // Two requests in one send: two answers, in order, on the same connection.
    socket.send(post("/echo", "first") + post("/echo", "second"));
    std::string both = socket.receive_until("second");
    EXPECT_LT(both.find("first"), both.find("second")) << both;
    EXPECT_NE(both.find("Connection: keep-alive"), std::string::npos) << both;
    // Then a streamed one: chunked framing, ended by the last chunk.
    socket.send(get("/count"));
    const std::string counted = socket.receive_until("0\r\n\r\n");
    EXPECT_NE(counted.find("Transfer-Encoding: chunked"), std::string::npos) << counted;
    EXPECT_NE(counted.find("\r\n1\r\n0\r\n1\r\n1\r\n1\r\n2\r\n0\r\n\r\n"), std::string::npos) << counted;
    // A request body sent in chunks is read whole.
    socket.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    EXPECT_NE(socket.receive_until("abcde").find("Content-Length: 5"), std::string::npos);
    // "Connection: close" gets its answer, then the end.
    socket.send(get("/items/a/b", "Connection: close\r\n"));
    const std::string last = socket.receive_all();
    EXPECT_NE(last.find("Connection: close"), std::string::npos) << last;
    EXPECT_TRUE(last.ends_with("a/b")) << last;
}

TEST(HttpFront, AnIdleKeptAliveConnectionIsClosed) {
    RunningFront front({.keep_alive_timeout = 300ms});
    RawSocket socket(front.port());
    socket.send(get("/health"));
    EXPECT_TRUE(socket.receive_until("ok").starts_with("HTTP/1.1 200"));
    const auto start = Clock::now();
    EXPECT_EQ(socket.receive(), "");   // closed by the server, not by the 5 s receive timeout
    EXPECT_LT(Clock::now() - start, 2s);
}

TEST(HttpFront, ExpectContinueHeadAndOptions) {
    RunningFront front({});
    RawSocket socket(front.port());
    socket.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    EXPECT_EQ(socket.receive(), "HTTP/1.1 100 Continue\r\n\r\n");
    socket.send("hello");
    EXPECT_TRUE(socket.receive_until("hello").starts_with("HTTP/1.1 200"));
    // HEAD: the length of what GET would send, and no body.
    socket.send("HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n");
    const std::string head = socket.receive_until("\r\n\r\n");
    EXPECT_NE(head.find("Content-Length: 15"), std::string::npos) << head;
    EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
    // A CORS preflight on any path.
    socket.send("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: t\r\n\r\n");
    const std::string preflight = socket.receive_until("\r\n\r\n");
    EXPECT_TRUE(preflight.starts_with("HTTP/1.1 204")) << preflight;
    EXPECT_NE(preflight.find("Access-Control-Allow-Methods: GET, POST, OPTIONS"), std::string::npos) << preflight;
    EXPECT_EQ(preflight.find("Content-Length"), std::string::npos) << preflight;
}

TEST(HttpFront, MalformedOversizedAndUnknownRequestsGetJsonErrors) {
    RunningFront front({.max_body_bytes = 1024, .max_header_bytes = 2048});
    auto expect_error = [&](const std::string& request, const std::string& status, const std::string& text) {
        RawSocket socket(front.port());
        socket.send(request);
        const std::string reply = socket.receive_until("}}");
        EXPECT_TRUE(reply.starts_with("HTTP/1.1 " + status)) << request << " -> " << reply;
        EXPECT_NE(reply.find(text), std::string::npos) << reply;
        EXPECT_NE(reply.find("\"error\""), std::string::npos) << reply;
    };
    expect_error("GARBAGE\r\n\r\n", "400", "malformed HTTP");
    expect_error("GET /health HTTP/9.9\r\n\r\n", "400", "malformed HTTP");
    expect_error(post("/echo", std::string(2000, 'a')), "413", "larger than the 1024 bytes");
    expect_error(get("/health", "X-Big: " + std::string(4000, 'b') + "\r\n"), "431", "headers are larger than the 2048");
    expect_error(get("/nowhere"), "404", "no route for GET /nowhere");
    expect_error(post("/health", ""), "404", "no route for POST /health");
    EXPECT_TRUE(exchange(front.port(), get("/health")).starts_with("HTTP/1.1 200"));
}

TEST(HttpFront, StopEndsEveryConnectionAndReturns) {
    auto front = std::make_unique<RunningFront>(FrontOptions{});
    RawSocket waiting(front->port());
    waiting.send(post("/wait", ""));
    RawSocket idle(front->port());
    std::this_thread::sleep_for(50ms);
    const auto start = Clock::now();
    front.reset();   // stop() and join with a route still waiting for its client
    EXPECT_LT(Clock::now() - start, 2s);
    EXPECT_EQ(idle.receive(), "");
}

TEST(HttpFront, BindNamesWhatFailed) {
    HttpRouter router;
    HttpFront taken(router, {.host = "127.0.0.1", .port = 0});
    const Result<int> port = taken.bind();
    ASSERT_TRUE(port.ok());
    HttpFront second(router, {.host = "127.0.0.1", .port = port.value()});
    const Result<int> again = second.bind();
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message().find("cannot listen on 127.0.0.1:" + std::to_string(port.value())), std::string::npos)
        << again.error().message();
    HttpFront nowhere(router, {.host = "no-such-host.invalid", .port = 0});
    EXPECT_FALSE(nowhere.bind().ok());
    HttpFront bad_tls(router, {.host = "127.0.0.1", .port = 0, .tls_cert = "/nonexistent.pem", .tls_key = "/nonexistent.pem"});
    const Result<int> tls = bad_tls.bind();
    ASSERT_FALSE(tls.ok());
    EXPECT_NE(tls.error().message().find("cannot use the TLS certificate '/nonexistent.pem'"), std::string::npos);
}

}  // namespace
}  // namespace tern::server

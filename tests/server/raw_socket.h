// A plain TCP client for tests that must misbehave where an HTTP library would not: send
// half a request, stall, never read, or hang up at a chosen moment.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace tern::testing {

class RawSocket {
public:
    // `receive_buffer` > 0 shrinks the socket's receive buffer before connecting (a slow reader).
    explicit RawSocket(int port, int receive_buffer = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        set_receive_timeout(std::chrono::milliseconds(5000));
    }
    ~RawSocket() { close(); }
    RawSocket(const RawSocket&) = delete;
    RawSocket& operator=(const RawSocket&) = delete;

    bool connected() const { return connected_; }
    bool send(const std::string& data) {
        return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
    }
    void set_receive_timeout(std::chrono::milliseconds limit) {
        timeval tv{.tv_sec = static_cast<time_t>(limit.count() / 1000),
                   .tv_usec = static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    // Whatever arrives next (empty when the server closed the connection or the timeout passed).
    std::string receive() {
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    }
    // Everything until the server closes the connection or the timeout passes with nothing new.
    std::string receive_all() {
        std::string all;
        for (std::string more = receive(); !more.empty(); more = receive()) all += more;
        return all;
    }
    // Reads until `marker` has arrived (or the connection ends); returns all that was read.
    std::string receive_until(const std::string& marker) {
        std::string all;
        while (all.find(marker) == std::string::npos) {
            const std::string more = receive();
            if (more.empty()) break;
            all += more;
        }
        return all;
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
    bool connected_ = false;
};

// Raises the soft descriptor limit to `needed` where the hard one allows; false if it cannot
// (tests holding many connections open, both ends in one process, skip then).
inline bool make_room_for_descriptors(size_t needed) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
    if (limit.rlim_cur < needed && limit.rlim_max >= needed) {
        limit.rlim_cur = needed;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
    }
    return limit.rlim_cur >= needed;
}

}  // namespace tern::testing

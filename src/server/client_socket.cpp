#include "server/client_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <filesystem>
#include <system_error>

namespace tern::server {
namespace {

struct Endpoint {
    std::string address;
    int port = -1;
};

std::optional<Endpoint> endpoint_of(const sockaddr_storage& storage) {
    char text[INET6_ADDRSTRLEN] = {};
    if (storage.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(storage);
        if (inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text) == nullptr) return std::nullopt;
        return Endpoint{text, ntohs(v4.sin_port)};
    }
    if (storage.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(storage);
        if (inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text) == nullptr) return std::nullopt;
        return Endpoint{text, ntohs(v6.sin6_port)};
    }
    return std::nullopt;
}

std::optional<Endpoint> peer_of(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return std::nullopt;
    return endpoint_of(storage);
}

std::optional<int> local_port_of(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return std::nullopt;
    const std::optional<Endpoint> self = endpoint_of(storage);
    if (!self) return std::nullopt;
    return self->port;
}

}  // namespace

std::optional<int> find_client_socket(const std::string& remote_addr, int remote_port, int local_port) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
        int fd = -1;
        try {
            fd = std::stoi(it->path().filename().string());
        } catch (const std::exception&) {
            continue;
        }
        const std::optional<Endpoint> peer = peer_of(fd);
        if (!peer || peer->port != remote_port || peer->address != remote_addr) continue;
        if (local_port_of(fd) == local_port) return fd;
    }
    return std::nullopt;
}

bool peer_hung_up(int socket) {
    pollfd watch{.fd = socket, .events = POLLRDHUP, .revents = 0};
    if (poll(&watch, 1, 0) < 0) return false;
    return (watch.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace tern::server

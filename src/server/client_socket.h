// Noticing that the client of a request has gone while the request waits for its answer.
// cpp-httplib 0.11 (Debian 12's) gives a handler the connection's addresses but not its socket,
// so the socket is found among the process's descriptors by those addresses. The connection
// cannot close while its handler runs (the handler runs on the connection's thread), so the
// descriptor found stays that connection's until the handler returns.
#pragma once

#include <optional>
#include <string>

namespace tern::server {

// The connected socket whose peer is remote_addr:remote_port (numeric, as cpp-httplib writes
// it) and whose own port is local_port; nullopt when none is (the lookup failed).
std::optional<int> find_client_socket(const std::string& remote_addr, int remote_port, int local_port);

// Whether the peer has closed its side or the connection failed; never waits.
bool peer_hung_up(int socket);

}  // namespace tern::server

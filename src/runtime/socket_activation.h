#pragma once
// Listening sockets inherited in systemd's socket-activation protocol (sd_listen_fds(3)):
// LISTEN_PID names this process and LISTEN_FDS counts the sockets at fds 3, 4, .... A server
// asks for the socket bound to the address it would otherwise bind itself, so the same config
// works with and without activation. `rampart up` uses it to give a balancer inside the lab's
// network namespace a listener on the host's loopback (a socket keeps the namespace it was made
// in).
//
// The environment is read once, on first use; the inherited fds are made close-on-exec then, so
// no later child inherits them. Thread-safe.

#include <sys/socket.h>

#include <optional>

namespace rampart::runtime {

// A new descriptor (close-on-exec, non-blocking) for the inherited listening socket bound to
// exactly `address` (family, address and port), or nullopt when none was inherited.
std::optional<int> inheritedListener(const sockaddr* address, socklen_t length);

}  // namespace rampart::runtime

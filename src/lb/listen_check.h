#pragma once
// Before the balancer opens its SO_REUSEPORT listeners it proves with a plain bind that nobody
// listens on the address (SO_REUSEPORT would otherwise let a second balancer of the same user
// share the port, the kernel splitting connections between them without a word). A bind can
// also fail when nobody listens: sockets of closed connections in TIME-WAIT, made without
// SO_REUSEADDR, hold the port for up to a minute. The two need different actions from the
// operator (find the other process / wait or pick another port), so the error says which it is,
// judged from the kernel's socket table (/proc/net/tcp, /proc/net/tcp6).

#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "base/result.h"

namespace rampart::lb {

// True if `table` (the text of /proc/net/tcp or /proc/net/tcp6) lists a socket in LISTEN state
// on `at`'s port whose address is `at`'s, or a wildcard address, or (tcp6) `at`'s IPv4
// address mapped into IPv6. Pure.
bool tableListsListener(std::string_view table, bool table_is_v6,
                        const boost::asio::ip::tcp::endpoint& at);

// Binds (SO_REUSEADDR) a throw-away socket to `at`. Errors say whether another process listens
// there or the port is only held by closing connections.
Result<void> checkNobodyListens(const boost::asio::ip::tcp::endpoint& at);

}  // namespace rampart::lb

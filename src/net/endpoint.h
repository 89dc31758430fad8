#pragma once
// Endpoint: a host and a TCP port, as written in flags and config ("127.0.0.1:2379",
// "http://127.0.0.1:2379", "https://127.0.0.1:2379", "[::1]:80", "localhost:8080"). An https://
// endpoint is spoken to over TLS; the scheme is kept so that lists round-trip.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace rampart::net {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool tls = false;  // https://

  // "host:port" ("[v6]:port"), prefixed with "https://" when tls: parseEndpoint reads it back.
  std::string toString() const;
  // "host:port" without a scheme (an HTTP Host header, a listen address).
  std::string hostPort() const;
  // "http://host:port" or "https://host:port".
  std::string url() const;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Accepts an optional "http://" or "https://" scheme and a trailing "/". Errors name the text.
Result<Endpoint> parseEndpoint(std::string_view text);

// Where other machines reach a server listening on `listen`: `listen` itself, or with
// `fallback_host` (e.g. the address of the member's database) when it listens on every
// interface (0.0.0.0, ::, or no host), which names no address anyone could connect to.
Endpoint advertisedEndpoint(const Endpoint& listen, const std::string& fallback_host);

// Whether `host` names this machine's loopback (127.0.0.0/8, ::1, localhost): where plain HTTP
// may be allowed, and where a listener is reachable from this machine only.
bool isLoopbackHost(std::string_view host);

// A TCP port on `host` that nothing holds right now, picked at random below the kernel's ephemeral
// range (so outgoing connections cannot take it before it is used), and claimed for the life of
// this process so no other caller of pickFreePort on this machine picks it too. A process that
// does not use this function could still bind it before the caller does: used only for processes
// that must be told their port up front (etcd members, postgres, lab load balancers), never for
// Rampart's own listeners in production.
Result<uint16_t> pickFreePort(const std::string& host);

}  // namespace rampart::net

#pragma once
// Endpoint: a host and a TCP port, as written in flags and config ("127.0.0.1:2379",
// "http://127.0.0.1:2379", "[::1]:80", "localhost:8080").

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace rampart::net {

struct Endpoint {
  std::string host;
  uint16_t port = 0;

  std::string toString() const;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Accepts an optional "http://" scheme and a trailing "/". Errors name the text.
Result<Endpoint> parseEndpoint(std::string_view text);

// Asks the kernel for a free TCP port on `host` (binds port 0, reads it, closes). There is a small
// window in which another process could take it; used only for processes that must be told their
// port up front (etcd members), never for Rampart's own listeners, which bind port 0 directly.
Result<uint16_t> pickFreePort(const std::string& host);

}  // namespace rampart::net

#include "net/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>

namespace rampart::net {

std::string Endpoint::hostPort() const {
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

std::string Endpoint::toString() const { return tls ? "https://" + hostPort() : hostPort(); }

std::string Endpoint::url() const { return (tls ? "https://" : "http://") + hostPort(); }

Result<Endpoint> parseEndpoint(std::string_view text) {
  std::string_view rest = text;
  bool tls = false;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    tls = true;
  } else if (rest.find("://") != std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "endpoint '", text,
                "': only http:// and https:// are supported");
  }
  if (rest.ends_with("/")) {
    rest.remove_suffix(1);
  }
  std::string_view host;
  std::string_view port;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return fail(ErrorCode::InvalidArgument, "endpoint '", text, "': expected [v6-address]:port");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(ErrorCode::InvalidArgument, "endpoint '", text, "': expected host:port");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) {
    return fail(ErrorCode::InvalidArgument, "endpoint '", text, "': empty host");
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return fail(ErrorCode::InvalidArgument, "endpoint '", text, "': invalid port '", port, "'");
  }
  return Endpoint{std::string(host), static_cast<uint16_t>(value), tls};
}

namespace {

// The first port of the range the kernel hands out to outgoing connections and to bind(port 0).
uint16_t ephemeralRangeStart() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned low = 0;
  if (range >> low && low > 0 && low <= 65535) {
    return static_cast<uint16_t>(low);
  }
  return 32768;  // Linux's default
}

// Binds `addr` (port included) without SO_REUSEADDR, so a port that any socket holds — listening,
// connected, or lingering in TIME_WAIT — is refused; on success reads back the port and closes.
Result<uint16_t> bindAndRelease(sockaddr_in addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(ErrorCode::Internal, "socket: ", std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return fail(ErrorCode::Unavailable, "bind port ", std::to_string(ntohs(addr.sin_port)), ": ",
                why);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Claims `port` against every other process that picks ports with pickFreePort: an abstract unix
// socket named after the port (one namespace per network namespace, gone with its holder, no
// files to clean up). Without it, two test processes running in parallel could both find a port
// free and hand it to their servers, the second of which then fails to bind — or, worse, its
// client talks to the first one's server. A claim is held until the process exits or until
// kKeptClaims newer ones push it out, by which time its server has long bound the port.
bool claimPort(uint16_t port) {
  constexpr size_t kKeptClaims = 1024;
  static std::mutex mutex;
  static std::deque<int> claims;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return true;  // cannot claim: fall back to the bind test alone
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = "rampart-port-" + std::to_string(port);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    ::close(fd);
    return false;  // another process (or this one) picked it
  }
  std::lock_guard lock(mutex);
  claims.push_back(fd);
  if (claims.size() > kKeptClaims) {
    ::close(claims.front());
    claims.pop_front();
  }
  return true;
}

}  // namespace

Result<uint16_t> pickFreePort(const std::string& host) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return fail(ErrorCode::InvalidArgument, "pickFreePort: '", host, "' is not an IPv4 address");
  }
  // Below the ephemeral range: a port picked there cannot be taken in the meantime by one of the
  // many outgoing connections a test makes (to etcd, postgres, REST), which is what a port from
  // bind(port 0) is exposed to. Random, so parallel tests rarely try the same one.
  constexpr uint16_t kLowest = 10000;
  uint16_t ephemeral = ephemeralRangeStart();
  if (ephemeral > kLowest + 1000) {
    static thread_local std::mt19937 random{std::random_device{}()};
    std::uniform_int_distribution<unsigned> pick(kLowest, ephemeral - 1u);
    for (int attempt = 0; attempt < 50; ++attempt) {
      addr.sin_port = htons(static_cast<uint16_t>(pick(random)));
      if (auto port = bindAndRelease(addr); port && claimPort(*port)) {
        return port;
      }
    }
  }
  addr.sin_port = 0;
  auto port = bindAndRelease(addr);
  if (!port) {
    return fail(ErrorCode::Unavailable, "no free port on ", host, ": ", port.error().message);
  }
  return port;
}

Endpoint advertisedEndpoint(const Endpoint& listen, const std::string& fallback_host) {
  Endpoint out = listen;
  if (out.host.empty() || out.host == "0.0.0.0" || out.host == "::") {
    out.host = fallback_host;
  }
  return out;
}

bool isLoopbackHost(std::string_view host) {
  return host.starts_with("127.") || host == "::1" || host == "localhost";
}

}  // namespace rampart::net

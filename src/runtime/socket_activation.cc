#include "runtime/socket_activation.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace rampart::runtime {
namespace {

struct Inherited {
  int fd = -1;
  sockaddr_storage address{};
};

// First inherited descriptor (SD_LISTEN_FDS_START).
constexpr int kFirstFd = 3;
// More than any caller hands over; a larger count is a foreign environment, not ours.
constexpr long kMaxFds = 64;

std::vector<Inherited> readEnvironment() {
  std::vector<Inherited> sockets;
  const char* pid_text = std::getenv("LISTEN_PID");
  const char* count_text = std::getenv("LISTEN_FDS");
  if (!pid_text || !count_text) {
    return sockets;
  }
  char* end = nullptr;
  long pid = std::strtol(pid_text, &end, 10);
  if (*end != '\0' || pid != ::getpid()) {
    return sockets;  // meant for another process (e.g. inherited through a shell)
  }
  long count = std::strtol(count_text, &end, 10);
  if (*end != '\0' || count <= 0 || count > kMaxFds) {
    return sockets;
  }
  for (int fd = kFirstFd; fd < kFirstFd + count; ++fd) {
    Inherited s;
    socklen_t length = sizeof s.address;
    int listening = 0;
    socklen_t flag_length = sizeof listening;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&s.address), &length) != 0 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &flag_length) != 0 ||
        !listening) {
      continue;
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    s.fd = fd;
    sockets.push_back(s);
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return sockets;
}

bool sameAddress(const sockaddr_storage& a, const sockaddr* b) {
  if (a.ss_family != b->sa_family) {
    return false;
  }
  if (a.ss_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(&a);
    auto* y = reinterpret_cast<const sockaddr_in*>(b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
    auto* y = reinterpret_cast<const sockaddr_in6*>(b);
    return x->sin6_port == y->sin6_port &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

}  // namespace

std::optional<int> inheritedListener(const sockaddr* address, socklen_t length) {
  static const std::vector<Inherited> sockets = readEnvironment();
  if (length < static_cast<socklen_t>(sizeof(sa_family_t))) {
    return std::nullopt;
  }
  for (const auto& s : sockets) {
    if (sameAddress(s.address, address)) {
      int fd = ::fcntl(s.fd, F_DUPFD_CLOEXEC, kFirstFd);
      if (fd < 0) {
        return std::nullopt;
      }
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      return fd;
    }
  }
  return std::nullopt;
}

}  // namespace rampart::runtime

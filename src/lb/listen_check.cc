#include "lb/listen_check.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace rampart::lb {
namespace {

constexpr std::string_view kListenState = "0A";

bool parseHex32(std::string_view hex, uint32_t& out) {
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), out, 16);
  return ec == std::errc() && end == hex.data() + hex.size();
}

// "0100007F:1F90" -> address bytes (network order) and port. The kernel prints each 32-bit word
// of the address as the number its bytes make in host order, so copying the parsed number back
// in host order restores the bytes.
bool parseLocal(std::string_view text, std::array<unsigned char, 16>& bytes, size_t& length,
                uint16_t& port) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || (colon != 8 && colon != 32)) {
    return false;
  }
  length = colon / 2;
  for (size_t word = 0; word < colon / 8; ++word) {
    uint32_t value = 0;
    if (!parseHex32(text.substr(word * 8, 8), value)) {
      return false;
    }
    std::memcpy(bytes.data() + word * 4, &value, 4);
  }
  uint32_t p = 0;
  if (!parseHex32(text.substr(colon + 1), p) || p > 0xffff) {
    return false;
  }
  port = static_cast<uint16_t>(p);
  return true;
}

std::string readFile(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

bool tableListsListener(std::string_view table, bool table_is_v6,
                        const boost::asio::ip::tcp::endpoint& at) {
  namespace ip = boost::asio::ip;
  const auto want = at.address();
  std::istringstream lines{std::string(table)};
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    if (!(fields >> slot >> local >> remote >> state) || state != kListenState) {
      continue;
    }
    std::array<unsigned char, 16> bytes{};
    size_t length = 0;
    uint16_t port = 0;
    if (!parseLocal(local, bytes, length, port) || port != at.port()) {
      continue;
    }
    if (!table_is_v6 && length == 4) {
      ip::address_v4 have(ip::address_v4::bytes_type{bytes[0], bytes[1], bytes[2], bytes[3]});
      if (have.is_unspecified() || (want.is_v4() && want.to_v4() == have) ||
          (want.is_v6() && want.to_v6().is_unspecified())) {
        return true;
      }
    } else if (table_is_v6 && length == 16) {
      ip::address_v6::bytes_type b;
      std::copy(bytes.begin(), bytes.end(), b.begin());
      ip::address_v6 have(b);
      if (have.is_unspecified() || (want.is_v6() && want.to_v6() == have) ||
          (want.is_v4() && have.is_v4_mapped() &&
           ip::make_address_v4(ip::v4_mapped, have) == want.to_v4())) {
        return true;
      }
    }
  }
  return false;
}

Result<void> checkNobodyListens(const boost::asio::ip::tcp::endpoint& at) {
  int fd = ::socket(at.address().is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(ErrorCode::Internal, "socket: ", std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int bound = ::bind(fd, at.data(), static_cast<socklen_t>(at.size()));
  int why = errno;
  ::close(fd);
  if (bound == 0) {
    return ok();
  }
  std::ostringstream where;
  where << at;
  std::string hint;
  if (why == EADDRINUSE) {
    bool listening = tableListsListener(readFile("/proc/net/tcp"), false, at) ||
                     tableListsListener(readFile("/proc/net/tcp6"), true, at);
    hint = listening ? " (another process listens there: a second load balancer?)"
                     : " (nothing listens there, but closed connections still hold the port, e.g. "
                       "in TIME-WAIT for up to 60 s: retry shortly or choose another port)";
  }
  return fail(ErrorCode::Unavailable, "listen on ", where.str(), ": ", std::strerror(why), hint);
}

}  // namespace rampart::lb

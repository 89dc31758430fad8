#include "agent/podnet/ipv4.h"

#include <arpa/inet.h>

#include <charconv>

namespace rampart::agent::podnet {

Result<Ipv4> parseIpv4(std::string_view text) {
  std::string copy(text);
  in_addr addr{};
  if (::inet_pton(AF_INET, copy.c_str(), &addr) != 1) {
    return fail(ErrorCode::InvalidArgument, "not an IPv4 address: '", text, "'");
  }
  return ntohl(addr.s_addr);
}

std::string formatIpv4(Ipv4 ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

std::string Ipv4Cidr::toString() const {
  return formatIpv4(network) + "/" + std::to_string(prefix);
}

Result<Ipv4Cidr> parseCidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument, "not a CIDR range (no /prefix): '", text, "'");
  }
  auto ip = parseIpv4(text.substr(0, slash));
  if (!ip) {
    return fail(ErrorCode::InvalidArgument, "not an IPv4 CIDR range: '", text, "'");
  }
  auto digits = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || prefix < 0 ||
      prefix > 32) {
    return fail(ErrorCode::InvalidArgument, "bad prefix length in '", text, "'");
  }
  if (prefix > 30) {
    return fail(ErrorCode::InvalidArgument, "pod range '", text,
                "' is too small: a /30 (network, gateway, one pod, broadcast) is the least");
  }
  // prefix ≤ 30 here, so the shift is at most 32 - 0 = 32 on a 64-bit value: defined.
  Ipv4 mask = static_cast<Ipv4>(~((uint64_t{1} << (32 - prefix)) - 1));
  if ((*ip & ~mask) != 0) {
    return fail(ErrorCode::InvalidArgument, "'", text, "' has host bits set (the range starts at ",
                formatIpv4(*ip & mask), ")");
  }
  return Ipv4Cidr{*ip, prefix};
}

}  // namespace rampart::agent::podnet

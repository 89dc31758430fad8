#pragma once
// IPv4 addresses and CIDR ranges as numbers, for the pod network's allocator and routes. Pure
// (no I/O), thread-safe (values only). IPv6 pod ranges are not supported yet: parsing one is an
// InvalidArgument error, which callers turn into "skipped" rather than a crash.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace rampart::agent::podnet {

using Ipv4 = uint32_t;  // host byte order: 10.64.3.1 == 0x0A400301

Result<Ipv4> parseIpv4(std::string_view text);
std::string formatIpv4(Ipv4 ip);

// A network range: `network` has no host bits set (10.64.3.0/24, not 10.64.3.5/24).
struct Ipv4Cidr {
  Ipv4 network = 0;
  int prefix = 32;

  // 2^(32 - prefix) addresses: network, gateway (.1), pods, broadcast.
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  Ipv4 gateway() const { return network + 1; }
  Ipv4 firstPod() const { return network + 2; }
  Ipv4 lastPod() const { return static_cast<Ipv4>(network + size() - 2); }  // broadcast - 1
  bool contains(Ipv4 ip) const { return ip - network < size(); }  // unsigned wrap: below → huge
  std::string toString() const;                                   // "10.64.3.0/24"
};

// "10.64.3.0/24". InvalidArgument for garbage, IPv6, host bits set, or a prefix longer than 30
// (a /30 holds network, gateway, one pod, broadcast: the smallest range that gives a pod an
// address).
Result<Ipv4Cidr> parseCidr(std::string_view text);

}  // namespace rampart::agent::podnet

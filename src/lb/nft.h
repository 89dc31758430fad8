#pragma once
// Kernel mode: instead of relaying bytes, the balancer programs an nftables table that DNATs
// each virtual server's address to its usable backends (lvscare's IPVS approach, on nftables,
// which current kernels and kube-proxy use; this kernel has no IPVS). The same health checker
// drives it. Every change replaces the whole table in one nft transaction, so packets never see
// a half-written rule set; the table is deleted on exit; conntrack entries that point at a
// backend that went away are deleted, so established flows to it end instead of hanging.
//   round-robin:  numgen inc mod <total weight> (a backend of weight w fills w slots)
//   source-hash:  jhash ip saddr mod <total weight>
//   least-connections has no kernel equivalent: it is rejected in kernel mode.
// Hooks: prerouting (traffic from other hosts) and output (traffic from this host). A virtual
// server with no usable backend answers with a TCP reset.

#include <string>
#include <vector>

#include "base/result.h"
#include "lb/picker.h"
#include "net/endpoint.h"

namespace rampart::lb {

struct KernelBackend {
  net::Endpoint address;  // IPv4
  uint32_t weight = 1;
};

struct KernelVirtualServer {
  net::Endpoint listen;  // IPv4
  Policy policy = Policy::RoundRobin;
  std::vector<KernelBackend> backends;  // usable ones only
};

inline constexpr const char* kNftTable = "rampart_lb";

// The complete nft script that atomically replaces the table. Pure.
std::string renderNftRuleset(const std::vector<KernelVirtualServer>& servers);
// Runs `nft -f` with the script. Blocking (milliseconds).
Result<void> applyNftRuleset(const std::string& script);
Result<void> deleteNftTable();
// Deletes conntrack entries of flows from `vip` to `backend` (needs the conntrack tool).
void flushConntrack(const net::Endpoint& vip, const net::Endpoint& backend);

}  // namespace rampart::lb

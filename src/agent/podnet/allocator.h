#pragma once
// IpAllocator: which address of its node's pod range each pod holds. The range's .1 is the
// bridge's gateway, .2 … broadcast-1 go to pods. Pure and deterministic; not thread-safe (the
// agent's pod network owns one and serialises calls).
//
// Order of hand-out: addresses never handed out first (ascending from a cursor), then released
// ones, least recently released first. So a deleted pod's address is not given to the next pod
// at once: a client or Service endpoint that still has it cached reaches nothing rather than a
// stranger, for as long as the range has other addresses to give.
//
// Restart: the allocator itself keeps nothing on disk. PodNetwork::recover() reads the address
// of each pod namespace that still exists back into it with restore(), so a restarted agent
// never hands out an address a live pod holds. The release history is lost across a restart;
// the cursor then starts after the highest restored address, which keeps the most recent
// hand-outs (usually the highest) away from the next pod. The cursor wraps: an address below it
// that is neither held nor released counts as never used.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "agent/podnet/ipv4.h"
#include "base/result.h"

namespace rampart::agent::podnet {

class IpAllocator {
 public:
  explicit IpAllocator(Ipv4Cidr range);

  // The pod's address: the one it holds, else the next by the order above. FailedPrecondition
  // when every pod address of the range is held.
  Result<Ipv4> allocate(const std::string& pod_uid);
  // Marks `ip` as held by `pod_uid` (recovery). InvalidArgument if `ip` is not a pod address of
  // the range; AlreadyExists if another pod holds it. Restoring a pod's own address again is ok.
  Result<void> restore(const std::string& pod_uid, Ipv4 ip);
  // Gives the pod's address back (to the end of the reuse queue). No-op for an unknown pod.
  void release(const std::string& pod_uid);

  std::optional<Ipv4> addressOf(const std::string& pod_uid) const;
  size_t held() const { return holders_.size(); }
  // Pod addresses in the range: size - 3 (network, gateway, broadcast).
  uint64_t capacity() const { return range_.size() - 3; }
  const Ipv4Cidr& range() const { return range_; }

 private:
  Ipv4Cidr range_;
  Ipv4 cursor_;                          // where the search for a never-used address resumes
  std::deque<Ipv4> released_;            // least recently released first
  std::set<Ipv4> released_set_;          // invariant: the same addresses as released_
  std::map<std::string, Ipv4> holders_;  // pod uid → address
  std::set<Ipv4> used_;                  // invariant: used_ == values of holders_
};

}  // namespace rampart::agent::podnet

#pragma once
// Expectations, as kube-controller-manager's ReplicaSet controller keeps them: the creations and
// deletions a controller has sent for one owner (a ReplicaSet key) and not yet seen come back
// through its informer. The owner is synced (a new decision made) only when nothing is pending.
//
// Invariant (no pod created twice): let C be the creations sent for an owner and O those
// observed in the cache (or failed, which lowers the count). A decision is made only when
// C - O = 0, i.e. when every pod this controller created is in the cache the decision reads, so
// "have" in decideReplicaSet counts them all and "create = want - have" never re-creates one.
// Deletions are tracked by pod key, so a pod seen twice (deletionTimestamp set, then DELETED)
// counts once. Entries expire after `ttl` (5 minutes, as Kubernetes) so a lost observation
// cannot wedge an owner forever. The manager clears everything when leadership is lost: the
// next leader's cache is relisted after its takeover, which covers the old leader's writes.
// Pure bookkeeping (time passed in); single-threaded.

#include <set>
#include <string>
#include <unordered_map>

#include "base/clock.h"

namespace rampart::controller {

class Expectations {
 public:
  explicit Expectations(Duration ttl = std::chrono::minutes(5)) : ttl_(ttl) {}

  void expectCreations(const std::string& owner, int count, TimePoint now);
  void expectDeletion(const std::string& owner, const std::string& pod_key, TimePoint now);
  // An informer showed one of the owner's pods appear (or a create failed).
  void creationObserved(const std::string& owner);
  // An informer showed the pod being deleted or gone (or the delete failed).
  void deletionObserved(const std::string& owner, const std::string& pod_key);
  bool satisfied(const std::string& owner, TimePoint now) const;
  int pendingCreations(const std::string& owner) const;
  void forget(const std::string& owner) { entries_.erase(owner); }
  void clear() { entries_.clear(); }

 private:
  struct Entry {
    int creations = 0;
    std::set<std::string> deletions;
    TimePoint since{};
  };
  Duration ttl_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace rampart::controller

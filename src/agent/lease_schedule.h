#pragma once
// LeaseSchedule: which simulated nodes' Leases are due for renewal, and when to look again.
// Node i renews at start + i × interval / N + k × interval: the N renewals of an interval are
// spread evenly over it, so 1,000 nodes at 200 ms write 5 leases per millisecond, never 1,000 in
// one burst. A node whose renewal slipped (a slow API server, a stalled loop) renews once as soon
// as it can and then keeps its phase: missed slots are skipped, not replayed, because a burst of
// stale renewals would only add load at the moment the server is slow.
// Pure: time is passed in (the Clock's steady time). Not thread-safe.

#include <cstdint>
#include <queue>
#include <vector>

#include "base/clock.h"

namespace rampart::agent {

class LeaseSchedule {
 public:
  LeaseSchedule(int nodes, Duration interval, TimePoint start);

  // The nodes due at `now` (each returned once per slot), and moves each to its next slot
  // after `now`.
  std::vector<int> due(TimePoint now);
  // When the next node falls due.
  TimePoint nextDue() const;
  // Renewal slots skipped because a node was already past its next slot when served.
  int64_t skipped() const { return skipped_; }

 private:
  struct Slot {
    TimePoint at;
    int node;
    bool operator>(const Slot& o) const { return at != o.at ? at > o.at : node > o.node; }
  };
  Duration interval_;
  std::priority_queue<Slot, std::vector<Slot>, std::greater<Slot>> queue_;  // earliest first
  int64_t skipped_ = 0;
};

}  // namespace rampart::agent

#include "agent/lease_schedule.h"

#include "base/check.h"

namespace rampart::agent {

LeaseSchedule::LeaseSchedule(int nodes, Duration interval, TimePoint start) : interval_(interval) {
  RAMPART_CHECK(nodes >= 0 && interval > Duration::zero(), "a lease schedule needs an interval");
  for (int i = 0; i < nodes; ++i) {
    // Nanosecond arithmetic: interval / nodes in whole milliseconds would be 0 for
    // 1,000 nodes at 200 ms and bunch them all at the start.
    queue_.push(Slot{start + interval * i / nodes, i});
  }
}

std::vector<int> LeaseSchedule::due(TimePoint now) {
  std::vector<int> out;
  while (!queue_.empty() && queue_.top().at <= now) {
    Slot slot = queue_.top();
    queue_.pop();
    out.push_back(slot.node);
    // Next slot strictly after now, same phase: at + k × interval with k ≥ 1.
    auto behind = (now - slot.at) / interval_;  // whole intervals already past
    skipped_ += behind;
    queue_.push(Slot{slot.at + interval_ * (behind + 1), slot.node});
  }
  return out;
}

TimePoint LeaseSchedule::nextDue() const {
  return queue_.empty() ? TimePoint::max() : queue_.top().at;
}

}  // namespace rampart::agent

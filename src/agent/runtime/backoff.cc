#include "agent/runtime/backoff.h"

#include <algorithm>

namespace rampart::agent::runtime {

Duration crashLoopDelay(const BackOffPolicy& policy, int consecutive_exits) {
  Duration delay = policy.initial;
  // Doubling stops at the cap, so the product never overflows: initial · 2^k ≤ 2 · cap.
  for (int i = 1; i < consecutive_exits && delay < policy.cap; ++i) {
    delay *= 2;
  }
  return std::min(delay, policy.cap);
}

TimePoint CrashLoopBackOff::recordExit(TimePoint started, TimePoint exited) {
  if (exited - started >= policy_.reset_after) {
    consecutive_exits_ = 0;  // it ran cleanly long enough: the crash loop is over
  }
  ++consecutive_exits_;
  last_delay_ = crashLoopDelay(policy_, consecutive_exits_);
  next_start_ = exited + last_delay_;
  return next_start_;
}

void CrashLoopBackOff::reset() {
  consecutive_exits_ = 0;
  last_delay_ = Duration{0};
  next_start_ = TimePoint{};
}

}  // namespace rampart::agent::runtime

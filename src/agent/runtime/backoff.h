#pragma once
// CrashLoopBackOff: when a restarted container may start again, as the kubelet decides it. After
// the n-th consecutive exit the delay is initial · 2^(n-1), capped (defaults 10 s, 20 s, 40 s, …,
// 300 s). A container that had been running for at least `reset_after` (10 min) before it exited
// starts the sequence over: that exit gets the initial delay again. Times are on the monotonic
// clock (Clock seam). Pure; not thread-safe (one per container).

#include <chrono>

#include "base/clock.h"

namespace rampart::agent::runtime {

struct BackOffPolicy {
  Duration initial = std::chrono::seconds(10);  // configurable (--crash-loop-initial-delay)
  Duration cap = std::chrono::seconds(300);
  Duration reset_after = std::chrono::minutes(10);
};

// The delay after `consecutive_exits` (≥ 1) exits in a row: initial · 2^(n-1), at most the cap.
Duration crashLoopDelay(const BackOffPolicy& policy, int consecutive_exits);

class CrashLoopBackOff {
 public:
  explicit CrashLoopBackOff(BackOffPolicy policy = {}) : policy_(policy) {}

  // Records that the container, running since `started`, exited at `exited`; returns the earliest
  // time it may start again (also nextStart()).
  TimePoint recordExit(TimePoint started, TimePoint exited);

  // True while a restart must wait (the waiting reason is then "CrashLoopBackOff").
  bool inBackOff(TimePoint now) const { return consecutive_exits_ > 0 && now < next_start_; }
  TimePoint nextStart() const { return next_start_; }
  Duration lastDelay() const { return last_delay_; }
  int consecutiveExits() const { return consecutive_exits_; }
  void reset();

 private:
  BackOffPolicy policy_;
  int consecutive_exits_ = 0;  // exits since the last reset
  Duration last_delay_{0};
  TimePoint next_start_{};  // meaningful when consecutive_exits_ > 0
};

}  // namespace rampart::agent::runtime

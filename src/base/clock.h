#pragma once
// Clock: the one seam through which Rampart reads time. Every deadline and timeout is on the
// monotonic clock (steady_clock), never on wall time, so NTP steps cannot fire or stall them.
// SteadyClock is the real one; FakeClock (fake_clock.h) lets pure-logic tests drive time.
// Both are thread-safe.

#include <chrono>
#include <cstdint>

namespace rampart {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  // The process-wide real clock.
  static SteadyClock& instance();
};

// Milliseconds as a double, for log lines and timelines.
inline double toMillis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// CLOCK_MONOTONIC in nanoseconds: comparable across processes on one machine (steady_clock is
// CLOCK_MONOTONIC on Linux), which is what cross-process timelines in drills and benchmarks use.
inline int64_t monotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace rampart

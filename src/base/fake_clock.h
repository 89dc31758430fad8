#pragma once
// FakeClock: a Clock that moves only when a test says so. Thread-safe.

#include <atomic>

#include "base/clock.h"

namespace rampart {

class FakeClock final : public Clock {
 public:
  FakeClock() : now_(TimePoint{} + std::chrono::hours(1)) {}
  TimePoint now() const override { return now_.load(); }
  void advance(Duration d) { now_.store(now_.load() + d); }

 private:
  std::atomic<TimePoint> now_;
};

}  // namespace rampart

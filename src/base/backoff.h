#pragma once
// Exponential backoff with full jitter and a cap (every retry loop in Rampart has both).
// Not thread-safe; one instance per retry loop.

#include <algorithm>
#include <random>

#include "base/clock.h"

namespace rampart {

class Backoff {
 public:
  Backoff(Duration initial, Duration cap) : initial_(initial), cap_(cap), next_(initial) {}

  // The next wait: uniformly random in [next/2, next], then next doubles up to the cap.
  Duration next() {
    std::uniform_int_distribution<int64_t> dist(next_.count() / 2, next_.count());
    Duration wait(dist(rng_));
    next_ = std::min(cap_, next_ * 2);
    return wait;
  }
  void reset() { next_ = initial_; }

 private:
  Duration initial_;
  Duration cap_;
  Duration next_;
  std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace rampart

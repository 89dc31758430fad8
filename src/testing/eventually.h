#pragma once
// Test helper: waits (bounded) until a condition holds, polling it, instead of a bare sleep.

#include <chrono>
#include <thread>

namespace rampart::testing {

// Polls `pred` every `poll` until it holds or `limit` has passed (monotonic clock); returns
// whether it held.
template <typename Pred, typename Rep, typename Period>
bool eventually(Pred pred, std::chrono::duration<Rep, Period> limit,
                std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(poll);
  }
  return pred();
}

}  // namespace rampart::testing

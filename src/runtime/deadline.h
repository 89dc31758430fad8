#pragma once
// DeadlineGuard: runs `on_expiry` (e.g. close or cancel an I/O object, which aborts its pending
// operation) if `deadline` passes while the guard lives. Declare it after the I/O object it
// touches, so it is destroyed first: once destroyed it never runs `on_expiry`, even when the
// timer had already fired and its handler was queued behind the operation's own completion
// (the race a bare steady_timer + lambda leaves open). Single-threaded: use on one event loop.

#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/clock.h"

namespace rampart::runtime {

class DeadlineGuard {
 public:
  DeadlineGuard(boost::asio::any_io_executor executor, TimePoint deadline,
                std::function<void()> on_expiry)
      : timer_(executor, deadline), state_(std::make_shared<State>(State::Armed)) {
    timer_.async_wait([state = state_, fn = std::move(on_expiry)](
                          const boost::system::error_code& ec) {
      if (!ec && *state == State::Armed) {
        *state = State::Fired;
        fn();
      }
    });
  }
  ~DeadlineGuard() {
    if (*state_ == State::Armed) {
      *state_ = State::Disarmed;
    }
    timer_.cancel();
  }
  DeadlineGuard(const DeadlineGuard&) = delete;
  DeadlineGuard& operator=(const DeadlineGuard&) = delete;

  // True if the deadline passed (and `on_expiry` ran).
  bool expired() const { return *state_ == State::Fired; }

 private:
  enum class State { Armed, Fired, Disarmed };
  boost::asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace rampart::runtime

#pragma once
// Test helper: runs an io_context (and everything spawned on it) until a condition holds or a
// real-time limit passes, checking every few milliseconds. For tests of long-running
// coroutines (informers, controller managers) over in-process stores.

#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "testing/run_loop.h"

namespace rampart::testing {

template <typename Pred>
bool loopUntil(boost::asio::io_context& io, Pred pred,
               std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  auto wait = [&]() -> boost::asio::awaitable<bool> {
    boost::asio::steady_timer timer(io);
    auto until = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= until) {
        co_return false;
      }
      timer.expires_after(std::chrono::milliseconds(2));
      co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    co_return true;
  };
  return runLoop(io, wait());
}

}  // namespace rampart::testing

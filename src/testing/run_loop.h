#pragma once
// Test helper: runs one coroutine to completion on an io_context and returns its result.
// Also drives everything else posted to that context meanwhile (watches, keep-alives).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace rampart::testing {

template <typename T>
T runLoop(boost::asio::io_context& io, boost::asio::awaitable<T> work) {
  io.restart();
  auto future = boost::asio::co_spawn(io, std::move(work), boost::asio::use_future);
  while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.run_one() == 0) {
      io.restart();
    }
  }
  return future.get();
}

}  // namespace rampart::testing

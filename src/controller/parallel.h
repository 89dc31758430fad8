#pragma once
// runAll: runs coroutines concurrently on the caller's executor and resumes when every one has
// finished (each is bounded by its own deadlines, e.g. the client's request timeout). Used to
// send a batch of independent writes at once (a ReplicaSet's pod creations).

#include <memory>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rampart::controller {

namespace detail {
struct JoinState {
  explicit JoinState(boost::asio::any_io_executor executor) : wake(executor) {}
  size_t remaining = 0;
  boost::asio::steady_timer wake;
};

inline boost::asio::awaitable<void> runOne(std::shared_ptr<JoinState> state,
                                           boost::asio::awaitable<void> task) {
  co_await std::move(task);
  if (--state->remaining == 0) {
    state->wake.cancel();
  }
}
}  // namespace detail

inline boost::asio::awaitable<void> runAll(std::vector<boost::asio::awaitable<void>> tasks) {
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  auto state = std::make_shared<detail::JoinState>(executor);
  state->remaining = tasks.size();
  for (auto& task : tasks) {
    asio::co_spawn(executor, detail::runOne(state, std::move(task)), asio::detached);
  }
  while (state->remaining > 0) {
    state->wake.expires_after(std::chrono::milliseconds(100));
    co_await state->wake.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace rampart::controller

#pragma once
// ThrottledClient: at most `max_in_flight` calls through it at once; the others wait their turn
// in order. The reconcilers' writes go through one (shared by every controller), so a scale-up
// of thousands of pods cannot open thousands of connections at once and slow the API down for
// everyone: API latency stays low, which is what keeps writes inside the leader's fencing
// margin (leader.h). The elector does not use it. Watches pass through. Use from one loop.

#include <deque>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kube/client.h"

namespace rampart::controller {

class ThrottledClient : public kube::Client {
 public:
  ThrottledClient(kube::Client& inner, int max_in_flight)
      : inner_(inner), max_in_flight_(max_in_flight) {}

  kube::Async<kube::Reply> call(std::string method, std::string target, std::string body,
                                std::string content_type) override {
    namespace asio = boost::asio;
    if (in_flight_ >= max_in_flight_ || !waiters_.empty()) {
      auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
      waiters_.push_back(timer);
      // Woken (cancelled) when a slot frees up; the timeout only re-checks, it never skips.
      while (in_flight_ >= max_in_flight_ || waiters_.front() != timer) {
        timer->expires_after(std::chrono::milliseconds(50));
        co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
      }
      waiters_.pop_front();
    }
    ++in_flight_;
    auto reply = co_await inner_.call(std::move(method), std::move(target), std::move(body),
                                      std::move(content_type));
    --in_flight_;
    if (!waiters_.empty()) {
      waiters_.front()->cancel();
    }
    co_return reply;
  }
  kube::Async<std::unique_ptr<kube::EventStream>> watch(std::string target) override {
    return inner_.watch(std::move(target));
  }
  int inFlight() const { return in_flight_; }

 private:
  kube::Client& inner_;
  int max_in_flight_;
  int in_flight_ = 0;
  std::deque<std::shared_ptr<boost::asio::steady_timer>> waiters_;
};

}  // namespace rampart::controller

#pragma once
// FencedClient: the kube::Client every reconciler writes through. Reads pass; a write is sent
// only while `may_write()` holds (the leader's fencing deadline has not passed: leader.h), and
// otherwise fails at once with FailedPrecondition without reaching the API. Checking at send
// time, on the monotonic clock, is what makes "a deposed leader stops writing by its fencing
// deadline" hold even when the elector's own renewal is stuck. Use from the client's loop.

#include <functional>
#include <string>

#include "kube/client.h"

namespace rampart::controller {

class FencedClient : public kube::Client {
 public:
  FencedClient(kube::Client& inner, std::function<bool()> may_write)
      : inner_(inner), may_write_(std::move(may_write)) {}

  kube::Async<kube::Reply> call(std::string method, std::string target, std::string body,
                                std::string content_type) override {
    if (method != "GET" && !may_write_()) {
      co_return fail(ErrorCode::FailedPrecondition, "not the leader: ", method, " ", target,
                     " not sent");
    }
    co_return co_await inner_.call(std::move(method), std::move(target), std::move(body),
                                   std::move(content_type));
  }
  kube::Async<std::unique_ptr<kube::EventStream>> watch(std::string target) override {
    return inner_.watch(std::move(target));
  }

 private:
  kube::Client& inner_;
  std::function<bool()> may_write_;
};

}  // namespace rampart::controller

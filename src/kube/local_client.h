#pragma once
// LocalClient: kube::Client in process — each call goes through the API server's own
// ApiHandler (defaults, validation, concurrency, Status errors) and each watch through its
// WatchSession, over the given store. For unit tests of controllers and agents with MemoryStore
// and FakeClock, and for tools that sit next to the store. Use from the store's event loop only.

#include <functional>
#include <memory>

#include "api/handler.h"
#include "api/object_store.h"
#include "kube/client.h"
#include "store/store.h"

namespace rampart::kube {

class LocalClient : public Client {
 public:
  // `prefix`: the API's key prefix in the store (as `rampart server --etcd-prefix`).
  LocalClient(store::Store& store, const Clock& clock, api::ApiHandler::WallClock wall_clock,
              std::string prefix = "/registry");

  Async<Reply> call(std::string method, std::string target, std::string body,
                    std::string content_type) override;
  Async<std::unique_ptr<EventStream>> watch(std::string target) override;

 private:
  store::Store& store_;
  const Clock& clock_;
  api::ObjectStore objects_;
  api::ApiHandler handler_;
};

}  // namespace rampart::kube

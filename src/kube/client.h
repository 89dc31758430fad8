#pragma once
// kube::Client: how Rampart's own components (controllers, node agents, simulated nodes, tests)
// talk to the Kubernetes-compatible API, in the API's own terms: REST calls that return the
// object (or list, or a `Status` on errors) and watch streams of events. Two implementations:
//   HttpClient  (http_client.h)   the real API over HTTPS with a kubeconfig's credentials;
//   LocalClient (local_client.h)  the same ApiHandler in process, over any store::Store, for
//                                 unit tests with MemoryStore and FakeClock.
// Both run the same request semantics, so code tested on LocalClient behaves the same on the
// wire. Use a client from the one event loop that owns it.

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::kube {

template <typename T>
using Async = boost::asio::awaitable<Result<T>>;

// An answered request: the HTTP status and the decoded JSON body (the object, a list, or a
// Status). API errors (404, 409, 422, 429 ...) are answers, not Result errors.
struct Reply {
  int status = 0;
  nlohmann::json body;

  bool ok() const { return status >= 200 && status < 300; }
  // The Status message of an error answer ("pods \"web\" not found"), or a generic one.
  std::string message() const;
  std::string reason() const;  // the Status reason ("NotFound", "Conflict", ...)
};

// Watch events as the API streams them: {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR,
// "object": {...}}. An ERROR event (e.g. a 410 Expired Status) is the stream's last.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // The next event, or nullopt when none came within max_wait (the stream stays open).
  // Unavailable once the stream ended (connection lost, server stopped, after an ERROR event):
  // the caller watches again from the last resourceVersion it saw, or lists again after 410.
  virtual Async<std::optional<nlohmann::json>> next(Duration max_wait) = 0;
  virtual void cancel() = 0;
};

class Client {
 public:
  virtual ~Client() = default;
  // One request. `target` is the path and query ("/api/v1/namespaces/default/pods?limit=500"),
  // `body` JSON (or a patch document of `content_type`). Errors only when no answer came
  // (Unavailable, DeadlineExceeded); every call completes within the client's request timeout.
  virtual Async<Reply> call(std::string method, std::string target, std::string body = {},
                            std::string content_type = "application/json") = 0;
  // A watch: `target` is a collection path with its query (watch=1 is added when absent; pass
  // resourceVersion, labelSelector, fieldSelector, allowWatchBookmarks as needed). An error
  // answer to the request itself is InvalidArgument/NotFound/... with the Status message.
  virtual Async<std::unique_ptr<EventStream>> watch(std::string target) = 0;
};

}  // namespace rampart::kube

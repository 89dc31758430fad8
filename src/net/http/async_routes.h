#pragma once
// AsyncRoutes: exact-path routes whose handlers wait before they answer -- e.g. a REST mutation
// that answers only once its etcd write is durable -- mounted on a net::http::Server as its
// fallback, so the server's synchronous routes (and server.h, which much of the tree includes)
// stay as they are.
//
// Every wait is bounded. A route has a timeout; its handler is a coroutine given the request and
// the deadline (now + timeout, steady clock) to bound its own work by. Should the handler not
// have answered by the deadline, the router answers for it: 504 with `{"error": ...}` saying the
// outcome is unknown, because the handler's work (a write already sent) may still complete --
// a caller must never read 504 as "nothing happened", and the handler never gets to answer 200
// after it. The late handler runs on to its end in the background (bounded by its own
// deadlines) and its answer is dropped. A handler that throws answers 500, like a sync route.
//
// Not thread-safe: configure, then mount() before the server listens, from the loop's thread.
// Handlers run on the server's event loop and must not block it.

#include <functional>
#include <map>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "base/clock.h"
#include "net/http/server.h"
#include "net/http/types.h"

namespace rampart::net::http {

class AsyncRoutes {
 public:
  // A coroutine: both parameters by value (it outlives the call that started it).
  using Handler =
      std::function<boost::asio::awaitable<Response>(Request request, TimePoint deadline)>;

  // Routes `path` (exact; the query string is ignored for matching) to `handler`, which gets
  // `timeout` from the moment the request was read.
  void route(std::string path, Duration timeout, Handler handler);

  // The Server::AsyncHandler that serves these routes (a copy of them: later route() calls do
  // not reach it); other paths go to `otherwise`, or get a 404 without one.
  Server::AsyncHandler handler(Server::AsyncHandler otherwise = {}) const;
  // server.fallback(handler(otherwise)).
  void mount(Server& server, Server::AsyncHandler otherwise = {}) const;

 private:
  struct Route {
    Duration timeout;
    Handler handler;
  };
  std::map<std::string, Route> routes_;
};

}  // namespace rampart::net::http

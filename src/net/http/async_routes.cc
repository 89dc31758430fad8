#include "net/http/async_routes.h"

#include <exception>
#include <memory>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"

namespace rampart::net::http {
namespace asio = boost::asio;

namespace {

// What the handler left for the request that waits on it. Shared: a handler that overran its
// deadline still writes here after the request has gone.
struct Pending {
  explicit Pending(asio::any_io_executor executor) : wake(std::move(executor)) {}
  std::optional<Response> response;
  asio::steady_timer wake;  // expires at the deadline, or at once when the handler answers
};

// Runs `route` for `request` and waits for its answer until `deadline`. By value: a coroutine.
asio::awaitable<Response> runBounded(AsyncRoutes::Handler handler, Request request,
                                     Duration timeout, std::string path) {
  auto executor = co_await asio::this_coro::executor;
  TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  auto pending = std::make_shared<Pending>(executor);
  pending->wake.expires_at(deadline);
  // Spawned rather than awaited, so the answer is bounded by `deadline` even when the handler's
  // work does not heed cancellation (an etcd request in flight).
  asio::co_spawn(executor, handler(std::move(request), deadline),
                 [pending, path](std::exception_ptr e, Response response) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& error) {
                       log::get("http")->error("handler failed path={} error=\"{}\"", path,
                                               error.what());
                     } catch (...) {
                       log::get("http")->error("handler failed path={}", path);
                     }
                     response = Response::text(500, "internal error\n");
                   }
                   pending->response = std::move(response);
                   // Moving the expiry wakes a wait under way and makes one still to come finish
                   // at once: either order of answer and wait works.
                   pending->wake.expires_at(TimePoint::min());
                 });
  while (!pending->response && std::chrono::steady_clock::now() < deadline) {
    co_await pending->wake.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (pending->response) {
    co_return std::move(*pending->response);
  }
  log::get("http")->warn("no answer within {:.0f} ms path={}", toMillis(timeout), path);
  co_return Response::json(504, "{\"error\":\"no answer within " +
                                    std::to_string(static_cast<int64_t>(toMillis(timeout))) +
                                    " ms; the outcome is unknown\"}");
}

}  // namespace

void AsyncRoutes::route(std::string path, Duration timeout, Handler handler) {
  routes_[std::move(path)] = Route{timeout, std::move(handler)};
}

Server::AsyncHandler AsyncRoutes::handler(Server::AsyncHandler otherwise) const {
  auto routes = std::make_shared<const std::map<std::string, Route>>(routes_);
  return [routes, otherwise](const Request& request,
                             ResponseStream& stream) -> asio::awaitable<Response> {
    // The lambda object lives in the server for as long as the server does, so its captures
    // outlive this coroutine; the request is copied before the first suspension.
    std::string path = request.target.substr(0, request.target.find('?'));
    auto it = routes->find(path);
    if (it == routes->end()) {
      if (otherwise) {
        co_return co_await otherwise(request, stream);
      }
      co_return Response::text(404, "not found: " + path + "\n");
    }
    co_return co_await runBounded(it->second.handler, request, it->second.timeout, path);
  };
}

void AsyncRoutes::mount(Server& server, Server::AsyncHandler otherwise) const {
  server.fallback(handler(std::move(otherwise)));
}

}  // namespace rampart::net::http

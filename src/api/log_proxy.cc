#include "api/log_proxy.h"

#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>

#include "api/status.h"

namespace rampart::api {
namespace asio = boost::asio;
namespace http = net::http;
using json = nlohmann::json;

namespace {

constexpr size_t kMaxErrorBody = 16 * 1024;

const char* reasonFor(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "InternalError";
  }
}

http::Response statusResponse(int code, const std::string& message) {
  json status = statusFailure(code, reasonFor(code), message);
  return http::Response::json(code, status.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Shared by the streaming loop and its watchdog: the watchdog reads `finished` before it
// touches anything else, and the loop sets it before returning, so the watchdog never uses the
// caller's stream after the call ended.
struct FollowState {
  std::shared_ptr<http::BodyStream> body;
  bool finished = false;
};

asio::awaitable<void> watchdog(std::shared_ptr<FollowState> state, http::ResponseStream* out,
                               std::function<bool()> stopping) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (state->finished) {
      co_return;
    }
    if (!out->open() || stopping()) {
      state->body->close();
      co_return;
    }
  }
}

}  // namespace

bool isLoopbackHost(const std::string& host) {
  return host.starts_with("127.") || host == "::1" || host == "localhost";
}

asio::awaitable<http::Response> proxyPodLog(asio::any_io_executor executor, http::Client& client,
                                            LogTarget target, http::ResponseStream& out,
                                            std::function<bool()> stopping,
                                            LogProxyOptions options) {
  net::Endpoint agent{target.host, target.port, !isLoopbackHost(target.host)};
  http::Request request;
  request.method = "GET";
  request.target = target.path;
  TimePoint start = std::chrono::steady_clock::now();
  auto opened = co_await client.stream(agent, request, start + options.connect_timeout);
  if (!opened) {
    co_return statusResponse(
        opened.error().code == ErrorCode::DeadlineExceeded ? 504 : 503,
        "Get \"" + agent.url() + target.path + "\": " + opened.error().message);
  }
  std::shared_ptr<http::BodyStream> body = std::move(*opened);
  TimePoint deadline = start + (target.follow ? options.follow_limit : options.read_timeout);
  if (body->status() != 200) {
    std::string text;
    while (text.size() < kMaxErrorBody) {
      auto piece = co_await body->read(start + options.connect_timeout);
      if (!piece || !*piece) {
        break;
      }
      text += **piece;
    }
    body->close();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    int code = body->status();
    if (text.empty()) {
      text = "the node agent answered " + std::to_string(code);
    }
    co_return statusResponse(code >= 400 ? code : 500, text);
  }
  if (!co_await out.begin(200, "text/plain", {})) {
    body->close();
    co_return http::Response{};
  }
  auto state = std::make_shared<FollowState>();
  state->body = body;
  if (target.follow) {
    asio::co_spawn(executor, watchdog(state, &out, stopping), asio::detached);
  }
  for (;;) {
    auto piece = co_await body->read(deadline);
    if (!piece || !*piece) {
      break;  // the end of the log, the agent gone, the deadline, or the watchdog's close
    }
    if (!co_await out.write(std::move(**piece))) {
      break;
    }
  }
  state->finished = true;
  body->close();
  co_return http::Response{};
}

}  // namespace rampart::api

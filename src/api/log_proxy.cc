#include "api/log_proxy.h"

#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "api/status.h"

namespace rampart::api {
namespace asio = boost::asio;
namespace http = net::http;
using json = nlohmann::json;

namespace {

constexpr size_t kMaxErrorBody = 16 * 1024;

http::Response statusResponse(int code, const std::string& message) {
  json status = statusForCode(code, message);
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

asio::awaitable<http::Response> proxyPodLog(asio::any_io_executor executor, http::Client& client,
                                            LogTarget target, http::ResponseStream& out,
                                            std::function<bool()> stopping,
                                            LogProxyOptions options) {
  net::Endpoint agent{target.host, target.port, !net::isLoopbackHost(target.host)};
  http::Request request;
  request.method = "GET";
  request.target = target.path;
  TimePoint start = std::chrono::steady_clock::now();
  auto unreachable = [&](const Error& error) {
    return statusResponse(error.code == ErrorCode::DeadlineExceeded ? 504 : 503,
                          "Get \"" + agent.url() + target.path + "\": " + error.message);
  };
  // The agent's error, relayed: its code and its body as the message.
  auto refused = [](const http::Response& answer) {
    std::string text = answer.body.substr(0, kMaxErrorBody);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    if (text.empty()) {
      text = "the node agent answered " + std::to_string(answer.status);
    }
    return statusResponse(answer.status >= 400 ? answer.status : 500, text);
  };
  if (!target.follow) {
    // A finished log: one buffered answer (the HTTP client takes at most 64 MiB; --limit-bytes
    // or --follow for more), whatever framing the agent uses.
    auto answer = co_await client.fetch(agent, request, start + options.read_timeout);
    if (!answer) {
      co_return unreachable(answer.error());
    }
    if (answer->status != 200) {
      co_return refused(*answer);
    }
    bool begun = co_await out.begin(200, "text/plain", {});
    if (begun && !answer->body.empty()) {
      bool written = co_await out.write(std::move(answer->body));
      (void)written;  // a client that left is nobody to tell
    }
    co_return http::Response{};
  }
  // Following: the agent streams (chunked) until the container ends or we close.
  auto opened = co_await client.stream(agent, request, start + options.connect_timeout);
  if (!opened) {
    co_return unreachable(opened.error());
  }
  std::shared_ptr<http::BodyStream> body = std::move(*opened);
  TimePoint deadline = start + options.follow_limit;
  if (body->status() != 200) {
    // The error's body is a plain (Content-Length) one, which the stream does not deliver:
    // ask once more for the whole answer.
    body->close();
    auto answer = co_await client.fetch(agent, request, start + options.connect_timeout);
    if (!answer) {
      co_return unreachable(answer.error());
    }
    co_return refused(*answer);
  }
  if (!co_await out.begin(200, "text/plain", {})) {
    body->close();
    co_return http::Response{};
  }
  auto state = std::make_shared<FollowState>();
  state->body = body;
  asio::co_spawn(executor, watchdog(state, &out, stopping), asio::detached);
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

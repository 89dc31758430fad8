#include "kube/http_client.h"

#include <deque>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "net/http/client.h"

namespace rampart::kube {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace http = net::http;

namespace {

Reply decodeReply(const http::Response& response) {
  json body = json::parse(response.body, nullptr, false);
  if (body.is_discarded()) {
    body = json{{"message", response.body}};
  }
  return Reply{response.status, std::move(body)};
}

// Shared between the stream object and its reader coroutine, which may outlive it.
struct WatchState {
  explicit WatchState(asio::any_io_executor executor) : wake(executor) {}
  std::deque<json> events;
  bool ended = false;
  std::string why;
  asio::steady_timer wake;
  std::unique_ptr<http::BodyStream> body;
};

asio::awaitable<void> readEvents(std::shared_ptr<WatchState> state, Duration idle_timeout) {
  std::string buffer;
  while (!state->ended) {
    auto chunk = co_await state->body->read(std::chrono::steady_clock::now() + idle_timeout);
    if (!chunk || !*chunk) {
      state->ended = true;
      state->why = chunk ? "the server ended the watch" : chunk.error().message;
      break;
    }
    buffer += **chunk;
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      if (line.empty()) {
        continue;
      }
      json event = json::parse(line, nullptr, false);
      if (event.is_discarded() || !event.is_object() || !event.contains("type") ||
          !event["type"].is_string() || !event.contains("object")) {
        state->ended = true;
        state->why = "the server sent a malformed watch event";
        break;
      }
      state->events.push_back(std::move(event));
    }
    state->wake.cancel();
  }
  state->wake.cancel();
}

class HttpEventStream : public EventStream {
 public:
  explicit HttpEventStream(std::shared_ptr<WatchState> state) : state_(std::move(state)) {}
  ~HttpEventStream() override { cancel(); }

  Async<std::optional<json>> next(Duration max_wait) override {
    if (state_->events.empty() && !state_->ended) {
      state_->wake.expires_after(max_wait);
      co_await state_->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (!state_->events.empty()) {
      json event = std::move(state_->events.front());
      state_->events.pop_front();
      co_return std::optional<json>(std::move(event));
    }
    if (state_->ended) {
      co_return fail(ErrorCode::Unavailable, "watch ended: ", state_->why);
    }
    co_return std::optional<json>{};
  }

  void cancel() override {
    if (!state_->ended) {
      state_->ended = true;
      state_->why = "cancelled";
      state_->body->close();
    }
    state_->wake.cancel();
  }

 private:
  std::shared_ptr<WatchState> state_;
};

}  // namespace

struct HttpClient::Impl {
  Impl(asio::any_io_executor executor, const net::TlsFiles& tls) : client(executor, tls) {}
  http::Client client;
};

HttpClient::HttpClient(asio::any_io_executor executor, KubeConfig config,
                       HttpClientOptions options)
    : executor_(executor), config_(std::move(config)), options_(std::move(options)) {}

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::make(asio::any_io_executor executor,
                                                     KubeConfig config,
                                                     HttpClientOptions options) {
  if (!config.https) {
    return fail(ErrorCode::InvalidArgument, "kubeconfig: ", config.server,
                ": only https:// servers are supported");
  }
  // Building the TLS context early reports a bad CA or certificate at start-up.
  if (auto context = net::makeClientContext(config.tls); !context) {
    return fail(ErrorCode::InvalidArgument, "kubeconfig: ", context.error().message);
  }
  std::unique_ptr<HttpClient> client(new HttpClient(executor, std::move(config), options));
  client->impl_ = std::make_unique<Impl>(executor, client->config_.tls);
  return client;
}

Async<Reply> HttpClient::call(std::string method, std::string target, std::string body,
                              std::string content_type) {
  http::Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.headers.emplace_back("Host", config_.endpoint.hostPort());
  request.headers.emplace_back("Accept", "application/json");
  request.headers.emplace_back("User-Agent", options_.user_agent);
  if (!config_.token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + config_.token);
  }
  if (!body.empty()) {
    request.headers.emplace_back("Content-Type", content_type);
  }
  request.body = std::move(body);
  // A write written on a pooled connection that closed without an answer may have been applied:
  // only reads are sent again (a POST replayed could create a second pod).
  auto replay = request.method == "GET" || request.method == "HEAD"
                    ? net::http::Client::Replay::Allowed
                    : net::http::Client::Replay::Never;
  auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  auto response =
      co_await impl_->client.fetch(config_.endpoint, std::move(request), deadline, replay);
  if (!response) {
    impl_->client.forget(config_.endpoint);
    co_return fail(response.error());
  }
  co_return decodeReply(*response);
}

Async<std::unique_ptr<EventStream>> HttpClient::watch(std::string target) {
  if (target.find("watch=") == std::string::npos) {
    target += target.find('?') == std::string::npos ? "?watch=1" : "&watch=1";
  }
  http::Request request;
  request.target = std::move(target);
  request.headers.emplace_back("Host", config_.endpoint.hostPort());
  request.headers.emplace_back("Accept", "application/json");
  request.headers.emplace_back("User-Agent", options_.user_agent);
  if (!config_.token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + config_.token);
  }
  auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  auto body = co_await impl_->client.stream(config_.endpoint, std::move(request), deadline);
  if (!body) {
    co_return fail(body.error());
  }
  if ((*body)->status() != 200) {
    // The error answer's Status, read whole (bounded by the deadline).
    std::string text;
    for (int i = 0; i < 64; ++i) {
      auto chunk = co_await (*body)->read(deadline);
      if (!chunk || !*chunk) {
        break;
      }
      text += **chunk;
    }
    Reply reply = decodeReply(http::Response{(*body)->status(), "", text, {}});
    ErrorCode code = reply.status == 410   ? ErrorCode::OutOfRange
                     : reply.status == 404 ? ErrorCode::NotFound
                     : reply.status == 400 ? ErrorCode::InvalidArgument
                                           : ErrorCode::Unavailable;
    co_return fail(code, "watch ", std::to_string(reply.status), ": ", reply.message());
  }
  auto state = std::make_shared<WatchState>(executor_);
  state->body = std::move(*body);
  asio::co_spawn(executor_, readEvents(state, options_.watch_idle_timeout), asio::detached);
  co_return std::unique_ptr<EventStream>(new HttpEventStream(state));
}

}  // namespace rampart::kube

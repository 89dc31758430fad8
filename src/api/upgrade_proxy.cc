#include "api/upgrade_proxy.h"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "api/log_proxy.h"
#include "api/status.h"
#include "base/log.h"
#include "net/http/upgrade.h"

namespace rampart::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace http = net::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr size_t kMaxErrorBody = 16 * 1024;

http::Response statusResponse(int code, const std::string& message) {
  json status = statusForCode(code, message);
  return http::Response::json(code, status.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Both directions of one spliced session; `done` once either ended (then both sockets close).
struct Splice {
  bool done = false;
  asio::steady_timer* watchdog = nullptr;  // spliceSession's, while it waits: woken at the end
};

template <class Stream>
void closeStream(Stream& stream) {
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().close(ignored);
}

template <class From, class To>
asio::awaitable<void> pump(std::shared_ptr<From> from, std::shared_ptr<To> to,
                           std::shared_ptr<Splice> splice) {
  std::array<char, 16 * 1024> buffer;
  while (!splice->done) {
    auto [ec, n] = co_await from->async_read_some(asio::buffer(buffer), kTuple);
    if (ec) {
      break;
    }
    auto [wec, written] = co_await asio::async_write(*to, asio::buffer(buffer.data(), n), kTuple);
    if (wec) {
      break;
    }
  }
  splice->done = true;
  closeStream(*from);
  closeStream(*to);
  if (splice->watchdog) {
    splice->watchdog->cancel();
  }
}

template <class Client, class Agent>
asio::awaitable<void> spliceSession(std::shared_ptr<Client> client, std::shared_ptr<Agent> agent,
                                    std::string to_client, std::string to_agent,
                                    std::function<bool()> stopping, Duration session_limit) {
  auto splice = std::make_shared<Splice>();
  auto executor = co_await asio::this_coro::executor;
  // Bytes already read past the heads: the agent's first frames, the client's (none, usually).
  if (!to_client.empty()) {
    auto [ec, n] = co_await asio::async_write(*client, asio::buffer(to_client), kTuple);
    if (ec) {
      splice->done = true;
    }
  }
  if (!to_agent.empty() && !splice->done) {
    auto [ec, n] = co_await asio::async_write(*agent, asio::buffer(to_agent), kTuple);
    if (ec) {
      splice->done = true;
    }
  }
  if (splice->done) {
    closeStream(*client);
    closeStream(*agent);
    co_return;
  }
  asio::co_spawn(executor, pump(client, agent, splice), asio::detached);
  asio::co_spawn(executor, pump(agent, client, splice), asio::detached);
  // A session may idle (exec -it); the server's stop and the session limit still end it.
  TimePoint end = std::chrono::steady_clock::now() + session_limit;
  asio::steady_timer timer(executor);
  splice->watchdog = &timer;
  while (!splice->done) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(kTuple);
    if (stopping() || std::chrono::steady_clock::now() >= end) {
      splice->done = true;
      closeStream(*client);
      closeStream(*agent);
    }
  }
  splice->watchdog = nullptr;
}

// The 101 for the client: the agent's head as it is (Upgrade, Connection, Sec-WebSocket-*).
std::string headOf(const bhttp::response<bhttp::string_body>& answer) {
  std::string head = "HTTP/1.1 101 Switching Protocols\r\n";
  for (const auto& field : answer) {
    head += std::string(field.name_string()) + ": " + std::string(field.value()) + "\r\n";
  }
  return head + "\r\n";
}

// The agent's answer to the forwarded request: (head, body, leftover) or an error.
struct AgentAnswer {
  bhttp::response<bhttp::string_body> message;
  std::string leftover;
};

template <class Stream>
asio::awaitable<Result<AgentAnswer>> askAgent(Stream& stream, const std::string& head) {
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(head), kTuple);
  if (wec) {
    co_return fail(ErrorCode::Unavailable, wec.message());
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxErrorBody);
  auto [rec, read] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
  if (rec && !(parser.is_header_done() && parser.get().result_int() != 101)) {
    co_return fail(
        rec == beast::error::timeout ? ErrorCode::DeadlineExceeded : ErrorCode::Unavailable,
        rec.message());
  }
  AgentAnswer answer{parser.release(), beast::buffers_to_string(buffer.data())};
  co_return answer;
}

// The agent's answer relayed: a non-101 as a Status, a 101 to the client and then the splice.
template <class Agent>
asio::awaitable<http::Response> relayAnswer(
    std::shared_ptr<Agent> agent, Result<AgentAnswer> answer, std::function<bool()> stopping,
    http::ResponseStream* out,
    std::function<http::Response(ErrorCode, const std::string&)> unreachable,
    Duration session_limit) {
  if (!answer) {
    closeStream(*agent);
    co_return unreachable(answer.error().code, answer.error().message);
  }
  beast::get_lowest_layer(*agent).expires_never();
  int status = answer->message.result_int();
  if (status != 101) {
    closeStream(*agent);
    std::string text = answer->message.body().substr(0, kMaxErrorBody);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    // A Status from the agent keeps its message.
    json parsed = json::parse(text, nullptr, false);
    if (parsed.is_object() && parsed.value("kind", "") == "Status") {
      text = parsed.value("message", text);
    }
    if (text.empty()) {
      text = "the node agent answered " + std::to_string(status);
    }
    co_return statusResponse(status >= 400 ? status : 500, "unable to upgrade connection: " + text);
  }
  auto taken = out->takeConnection();
  if (!taken) {
    closeStream(*agent);
    co_return statusResponse(500, "the connection cannot be upgraded");
  }
  std::string to_client = headOf(answer->message) + answer->leftover;
  std::string to_agent = std::move(taken->leftover);
  auto make = [&](auto& client) {
    return spliceSession(client, agent, to_client, to_agent, stopping, session_limit);
  };
  asio::awaitable<void> session = std::visit(make, taken->stream);
  co_await std::move(session);
  co_return http::Response{};
}

}  // namespace

asio::awaitable<http::Response> proxyUpgrade(asio::any_io_executor executor,
                                             net::TlsFiles kubelet_tls, ExecTarget target,
                                             const http::Request& request,
                                             http::ResponseStream& out,
                                             std::function<bool()> stopping,
                                             UpgradeProxyOptions options) {
  bool tls = !(options.plain_on_loopback && net::isLoopbackHost(target.host));
  std::string where =
      std::string(tls ? "https://" : "http://") +
      (target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host) + ":" +
      std::to_string(target.port);
  std::function<http::Response(ErrorCode, const std::string&)> unreachable =
      [where, path = target.path](ErrorCode code, const std::string& message) {
        return statusResponse(code == ErrorCode::DeadlineExceeded ? 504 : 503,
                              "error dialing backend: " + where + path + ": " + message);
      };
  // The forwarded request: the client's method and upgrade headers, to the agent's path.
  std::string head = request.method + " " + target.path +
                     " HTTP/1.1\r\nHost: " + where.substr(where.find("//") + 2) + "\r\n";
  for (const auto& [name, value] : request.headers) {
    std::string lower = name;
    for (auto& c : lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (lower == "upgrade" || lower == "connection" || lower.starts_with("sec-websocket-") ||
        lower == "x-stream-protocol-version") {
      head += name + ": " + value + "\r\n";
    }
  }
  head += "\r\n";

  // Connect within the handshake deadline (a numeric address: no resolver needed).
  beast::error_code ec;
  auto address = asio::ip::make_address(target.host, ec);
  if (ec) {
    co_return unreachable(ErrorCode::Unavailable, "not an IP address");
  }
  auto socket = std::make_shared<beast::tcp_stream>(executor);
  socket->expires_after(options.handshake_timeout);
  auto [cec] = co_await socket->async_connect(tcp::endpoint(address, target.port), kTuple);
  if (cec) {
    co_return unreachable(
        cec == beast::error::timeout ? ErrorCode::DeadlineExceeded : ErrorCode::Unavailable,
        cec.message());
  }

  if (!tls) {
    auto answer = co_await askAgent(*socket, head);
    auto relayed =
        relayAnswer(socket, std::move(answer), stopping, &out, unreachable, options.session_limit);
    co_return co_await std::move(relayed);
  }
  auto context = net::makeClientContext(kubelet_tls);
  if (!context) {
    co_return unreachable(ErrorCode::Unavailable, context.error().message);
  }
  auto secure = std::make_shared<http::TlsStream>(std::move(*socket), **context);
  if (auto prepared =
          net::prepareClientConnection(secure->native_handle(), kubelet_tls, target.host);
      !prepared) {
    co_return unreachable(ErrorCode::Unavailable, prepared.error().message);
  }
  auto [hec] = co_await secure->async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec) {
    co_return unreachable(
        hec == beast::error::timeout ? ErrorCode::DeadlineExceeded : ErrorCode::Unavailable,
        "TLS handshake: " + hec.message());
  }
  auto answer = co_await askAgent(*secure, head);
  auto relayed =
      relayAnswer(secure, std::move(answer), stopping, &out, unreachable, options.session_limit);
  co_return co_await std::move(relayed);
}

}  // namespace rampart::api

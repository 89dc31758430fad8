#include "net/http/server.h"

#include <array>
#include <exception>
#include <list>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/log.h"
#include "net/resource_errors.h"

namespace rampart::net::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// The answer to a request that could not be read, or 0 to just close (the client left, timed
// out, or the transport failed: nobody would read an answer).
int statusForReadError(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return 431;
  }
  if (ec == bhttp::error::body_limit) {
    return 413;
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) {
    return 0;
  }
  if (ec.category() == beast::error_code(bhttp::error::bad_target).category()) {
    return 400;  // every other parse error: bad method, target, version, header, chunk, ...
  }
  return 0;
}

const char* reasonBody(int status) {
  switch (status) {
    case 400:
      return "bad request\n";
    case 413:
      return "request body too large\n";
    case 431:
      return "request header fields too large\n";
    default:
      return "error\n";
  }
}

// Streams with a deadline (tcp_stream, possibly under TLS) get the idle timeout; the in-memory
// test stream has none.
template <class Stream>
void armTimeout(Stream& stream, Duration timeout) {
  if constexpr (requires { beast::get_lowest_layer(stream).expires_after(timeout); }) {
    beast::get_lowest_layer(stream).expires_after(timeout);
  }
}

template <class Stream>
void finish(Stream& stream) {
  beast::error_code ignored;
  if constexpr (requires { beast::get_lowest_layer(stream).socket(); }) {
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
  } else {
    stream.close();
  }
}

// After a refusal the client may still be sending (the rest of a huge header or body). Closing
// with unread bytes makes the kernel send a RST, which can destroy the answer before the client
// reads it; so stop sending, then read and drop what comes for a moment (bounded: 256 KiB, 1 s).
template <class Stream>
asio::awaitable<void> linger(Stream& stream) {
  if constexpr (requires { beast::get_lowest_layer(stream).socket(); }) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest.expires_after(std::chrono::seconds(1));
    std::array<char, 4096> sink;
    size_t total = 0;
    while (total < 256 * 1024) {
      auto [ec, n] = co_await lowest.async_read_some(asio::buffer(sink), kTuple);
      if (ec) {
        break;
      }
      total += n;
    }
  }
  co_return;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  asio::any_io_executor executor;
  ServerOptions options;
  std::map<std::string, Handler> routes;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::list<std::weak_ptr<beast::tcp_stream>> connections;
  bool stopped = false;
  ServerStats stats;
  ExhaustionEpisode exhaustion;

  Response dispatch(const Request& request) {
    std::string path = request.target.substr(0, request.target.find('?'));
    auto it = routes.find(path);
    if (it == routes.end()) {
      return Response::text(404, "not found: " + path + "\n");
    }
    // A handler's library exception (a JSON parse, a bad_alloc) fails this request only.
    try {
      return it->second(request);
    } catch (const std::exception& e) {
      log::get("http")->error("handler failed path={} error=\"{}\"", path, e.what());
      return Response::text(500, "internal error\n");
    }
  }

  // One connection's requests, in order, until the client closes, a request cannot be read, or
  // a response says close. Shared by real sockets and processForTesting().
  template <class Stream>
  asio::awaitable<void> serve(std::shared_ptr<Stream> stream, std::string client_identity) {
    auto self = shared_from_this();
    // Holds at most one request's line and headers (the body goes into the parser's string):
    // a client that never ends its headers gets 431, not an ever-growing buffer.
    beast::flat_buffer buffer(options.header_limit + 4096);
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options.header_limit));
      parser.body_limit(options.body_limit);
      armTimeout(*stream, options.idle_timeout);
      auto [ec, n] = co_await bhttp::async_read(*stream, buffer, parser, kTuple);
      if (ec) {
        if (int status = statusForReadError(ec); status != 0) {
          ++stats.bad_requests;
          bhttp::response<bhttp::string_body> refused{static_cast<bhttp::status>(status), 11};
          refused.set(bhttp::field::server, "rampart");
          refused.set(bhttp::field::content_type, "text/plain; charset=utf-8");
          refused.keep_alive(false);
          refused.body() = reasonBody(status);
          refused.prepare_payload();
          co_await bhttp::async_write(*stream, refused, kTuple);
          co_await linger(*stream);
        }
        break;
      }
      auto& msg = parser.get();
      Request request;
      request.method = std::string(msg.method_string());
      request.target = std::string(msg.target());
      for (auto& field : msg) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      request.body = std::move(msg.body());
      request.client_identity = client_identity;
      Response response = dispatch(request);
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), 11};
      res.set(bhttp::field::server, "rampart");
      if (!response.content_type.empty()) {
        res.set(bhttp::field::content_type, response.content_type);
      }
      res.keep_alive(msg.keep_alive());
      res.body() = std::move(response.body);
      res.prepare_payload();
      auto [wec, written] = co_await bhttp::async_write(*stream, res, kTuple);
      if (wec || !res.keep_alive()) {
        break;
      }
    }
    finish(*stream);
  }

  // An accepted connection, counted while it lives.
  asio::awaitable<void> connection(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    ++stats.active_connections;
    struct Uncount {
      ServerStats& stats;
      ~Uncount() { --stats.active_connections; }
    } uncount{stats};
    co_await serve(stream, std::string());
  }

  asio::awaitable<void> acceptLoop() {
    auto self = shared_from_this();
    asio::steady_timer pause(executor);
    while (!stopped) {
      auto [ec, socket] = co_await acceptor->async_accept(kTuple);
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) {
          break;
        }
        if (ec.category() == boost::system::system_category() && isLocalResourceError(ec.value())) {
          // Retrying at once would spin: the pending connection stays queued and the listener
          // stays readable until a descriptor is free.
          ++stats.accept_errors;
          if (exhaustion.onError()) {
            log::get("http")->warn(
                "accept failing, backing off until it succeeds error=\"{}\" active={}",
                ec.message(), stats.active_connections);
          }
          pause.expires_after(exhaustion.nextWait());
          co_await pause.async_wait(kTuple);
        }
        continue;
      }
      if (exhaustion.onSuccess()) {
        log::get("http")->info("accept works again");
      }
      if (stats.active_connections >= options.max_connections) {
        ++stats.rejected_connections;
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      connections.remove_if([](auto& w) { return w.expired(); });
      connections.push_back(stream);
      asio::co_spawn(executor, connection(stream), asio::detached);
    }
  }
};

Server::Server(asio::any_io_executor executor, ServerOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->executor = std::move(executor);
  impl_->options = options;
}

Server::~Server() { stop(); }

void Server::route(std::string path, Handler handler) {
  impl_->routes[std::move(path)] = std::move(handler);
}

void Server::setOptions(const ServerOptions& options) { impl_->options = options; }

ServerStats Server::stats() const { return impl_->stats; }

Result<Endpoint> Server::listen(const Endpoint& where) {
  beast::error_code ec;
  auto address = asio::ip::make_address(where.host, ec);
  if (ec) {
    return fail(ErrorCode::InvalidArgument, "listen address '", where.host,
                "' is not an IP address");
  }
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->executor);
  tcp::endpoint endpoint(address, where.port);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor->bind(endpoint, ec);
  }
  if (!ec) {
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return fail(ErrorCode::Unavailable, "listen on ", where.toString(), ": ", ec.message());
  }
  Endpoint bound{where.host, acceptor->local_endpoint().port()};
  impl_->acceptor = std::move(acceptor);
  impl_->stopped = false;
  asio::co_spawn(impl_->executor, impl_->acceptLoop(), asio::detached);
  return bound;
}

void Server::stop() {
  impl_->stopped = true;
  if (impl_->acceptor) {
    beast::error_code ignored;
    impl_->acceptor->close(ignored);
  }
  for (auto& weak : impl_->connections) {
    if (auto stream = weak.lock()) {
      stream->close();
    }
  }
  impl_->connections.clear();
}

std::string Server::processForTesting(std::string_view raw_request_bytes) {
  asio::io_context io;
  auto server_side = std::make_shared<beast::test::stream>(io);
  beast::test::stream client_side(io);
  server_side->connect(client_side);
  server_side->append(raw_request_bytes);
  server_side->close_remote();  // the server reads the bytes, then end of stream
  asio::co_spawn(io, impl_->serve(server_side, std::string()), asio::detached);
  io.run();
  return std::string(client_side.str());
}

}  // namespace rampart::net::http

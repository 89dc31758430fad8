#include "net/http/server.h"

#include <list>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace rampart::net::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {
// A client that sends nothing for this long is disconnected.
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr size_t kMaxRequestBody = 4 * 1024 * 1024;
}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  asio::any_io_executor executor;
  std::map<std::string, Handler> routes;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::list<std::weak_ptr<beast::tcp_stream>> connections;
  bool stopped = false;

  Response dispatch(const Request& request) {
    std::string path = request.target.substr(0, request.target.find('?'));
    auto it = routes.find(path);
    if (it == routes.end()) {
      return Response::text(404, "not found: " + path + "\n");
    }
    return it->second(request);
  }

  asio::awaitable<void> serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(kMaxRequestBody);
      stream->expires_after(kIdleTimeout);
      auto [ec, n] = co_await bhttp::async_read(*stream, buffer, parser, kTuple);
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          bhttp::response<bhttp::string_body> too_large{bhttp::status::payload_too_large, 11};
          too_large.body() = "request body too large\n";
          too_large.prepare_payload();
          co_await bhttp::async_write(*stream, too_large, kTuple);
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
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> acceptLoop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor->async_accept(kTuple);
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) {
          break;
        }
        continue;
      }
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      connections.remove_if([](auto& w) { return w.expired(); });
      connections.push_back(stream);
      asio::co_spawn(executor, serve(stream), asio::detached);
    }
  }
};

Server::Server(asio::any_io_executor executor) : impl_(std::make_shared<Impl>()) {
  impl_->executor = std::move(executor);
}

Server::~Server() { stop(); }

void Server::route(std::string path, Handler handler) {
  impl_->routes[std::move(path)] = std::move(handler);
}

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

}  // namespace rampart::net::http

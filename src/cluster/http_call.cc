#include "cluster/http_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "net/http/client.h"

namespace rampart::cluster {

Result<net::http::Response> httpCall(const net::Endpoint& endpoint, const HttpCall& call) {
  boost::asio::io_context io;
  net::http::Client client(io.get_executor(), call.tls);
  net::http::Request request;
  request.method = call.method;
  request.target = call.path;
  request.body = call.body;
  if (!call.bearer.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + call.bearer);
  }
  if (!call.body.empty()) {
    request.headers.emplace_back("Content-Type", call.content_type);
  }
  auto deadline = std::chrono::steady_clock::now() + call.timeout;
  auto run = [&]() -> boost::asio::awaitable<Result<net::http::Response>> {
    co_return co_await client.fetch(endpoint, std::move(request), deadline);
  };
  auto future = boost::asio::co_spawn(io, run(), boost::asio::use_future);
  io.run();
  return future.get();
}

}  // namespace rampart::cluster

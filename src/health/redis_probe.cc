#include "health/redis_probe.h"

#include <array>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/resource_errors.h"
#include "redis/replication.h"
#include "redis/reply_reader.h"
#include "runtime/deadline.h"

namespace rampart::health {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

ProbeResult failed(std::string detail) {
  ProbeResult out;
  out.detail = std::move(detail);
  return out;
}

// A ROLE reply is a few hundred bytes per replica; a server sending more than this is not
// answering ROLE.
constexpr size_t kMaxReplyBytes = 1 << 20;

}  // namespace

asio::awaitable<ProbeResult> redisRoleProbe(asio::any_io_executor ex, std::string role,
                                            net::Endpoint target, Duration timeout) {
  boost::system::error_code parse_ec;
  auto address = asio::ip::make_address(target.host, parse_ec);
  if (parse_ec) {
    co_return failed("not an IP address: " + target.host);
  }
  tcp::socket socket(ex);
  auto close_socket = [&socket] {
    boost::system::error_code ignored;
    socket.close(ignored);
  };
  runtime::DeadlineGuard guard(ex, std::chrono::steady_clock::now() + timeout, close_socket);
  auto [connect_ec] = co_await socket.async_connect(tcp::endpoint(address, target.port),
                                                    asio::as_tuple(asio::use_awaitable));
  if (guard.expired()) {
    co_return failed("connect timed out");
  }
  if (connect_ec) {
    ProbeResult out = failed(connect_ec.message());
    out.inconclusive = connect_ec.category() == boost::system::system_category() &&
                       net::isLocalConnectError(connect_ec.value());
    co_return out;
  }
  const std::string request = redis::encodeCommand({"ROLE"});
  auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(request),
                                                        asio::as_tuple(asio::use_awaitable));
  if (guard.expired()) {
    co_return failed("ROLE timed out");
  }
  if (write_ec) {
    co_return failed("ROLE: " + write_ec.message());
  }
  redis::ReplyReader reader;
  std::array<char, 4096> buffer;
  size_t total = 0;
  std::optional<redis::Reply> reply;
  while (!reply) {
    auto [read_ec, n] =
        co_await socket.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (guard.expired()) {
      co_return failed("ROLE timed out");
    }
    if (read_ec) {
      co_return failed("ROLE: " + read_ec.message());
    }
    total += n;
    if (total > kMaxReplyBytes) {
      co_return failed("ROLE: reply larger than 1 MiB");
    }
    reader.feed(std::string_view(buffer.data(), n));
    auto next = reader.next();
    if (!next) {
      co_return failed("ROLE: " + next.error().message);
    }
    reply = std::move(*next);
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  if (reply->isError()) {
    co_return failed("ROLE: " + reply->str);
  }
  auto parsed = redis::parseRole(*reply);
  if (!parsed) {
    co_return failed("ROLE: " + parsed.error().message);
  }
  ProbeResult out;
  if (std::holds_alternative<redis::MasterRole>(*parsed)) {
    out.detail = "role master";
    out.ok = role == "master";
  } else if (const auto* r = std::get_if<redis::ReplicaRole>(&*parsed)) {
    out.detail = std::string("role replica (link ") + redis::linkStateName(r->state) + ")";
    out.ok = role == "replica";
  } else {
    out.detail = "role sentinel";
  }
  co_return out;
}

}  // namespace rampart::health

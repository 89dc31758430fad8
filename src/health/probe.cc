#include "health/probe.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "health/pg_probe.h"
#include "health/redis_probe.h"
#include "net/http/client.h"
#include "net/http/fetch_once_tls.h"
#include "net/resource_errors.h"
#include "runtime/deadline.h"

namespace rampart::health {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<ProbeResult> tcpProbe(asio::any_io_executor ex, Duration timeout,
                                      net::Endpoint target) {
  boost::system::error_code parse_ec;
  auto address = asio::ip::make_address(target.host, parse_ec);
  if (parse_ec) {
    co_return ProbeResult{false, "not an IP address: " + target.host, {}};
  }
  tcp::socket socket(ex);
  auto close_socket = [&socket] {
    boost::system::error_code ignored;
    socket.close(ignored);
  };
  runtime::DeadlineGuard guard(ex, std::chrono::steady_clock::now() + timeout, close_socket);
  auto [ec] = co_await socket.async_connect(tcp::endpoint(address, target.port),
                                            asio::as_tuple(asio::use_awaitable));
  if (guard.expired()) {
    co_return ProbeResult{false, "connect timed out", {}};
  }
  if (ec) {
    ProbeResult failed{false, ec.message(), {}};
    failed.inconclusive =
        ec.category() == boost::system::system_category() && net::isLocalConnectError(ec.value());
    co_return failed;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  co_return ProbeResult{true, "connected", {}};
}

asio::awaitable<ProbeResult> httpProbe(asio::any_io_executor ex, ProbeSpec spec,
                                       net::Endpoint target) {
  net::http::Request request{spec.method, spec.path, {}, {}};
  auto deadline = std::chrono::steady_clock::now() + spec.timeout;
  Result<net::http::Response> response;
  if (spec.tls && spec.tls_context) {
    response = co_await net::http::fetchOnceTls(ex, target, std::move(request), deadline,
                                                spec.tls_files, spec.tls_context);
  } else {
    response = co_await net::http::fetchOnce(ex, target, std::move(request), deadline, spec.tls);
  }
  if (!response) {
    ProbeResult failed;
    failed.detail = response.error().code == ErrorCode::DeadlineExceeded ? std::string("timed out")
                                                                         : response.error().message;
    co_return failed;
  }
  int status = response->status;
  ProbeResult result;
  result.detail = "HTTP " + std::to_string(status);
  // Never a pass, whatever the accepted range says.
  if (spec.promoting_status != 0 && status == spec.promoting_status) {
    result.promoting = true;
    result.detail += " (promoting)";
    co_return result;
  }
  if (spec.draining_status != 0 && status == spec.draining_status) {
    result.draining = true;
    result.detail += " (draining)";
    co_return result;
  }
  result.ok = (status >= spec.status_min && status <= spec.status_max) ||
              std::find(spec.extra_statuses.begin(), spec.extra_statuses.end(), status) !=
                  spec.extra_statuses.end();
  co_return result;
}

// Whether this process can open a socket right now. The http and postgres clients report their
// own EMFILE only as text; a failed check while this fails too is ours, not the backend's.
std::string localSocketProblem() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    ::close(fd);
    return "";
  }
  int err = errno;
  return net::isLocalResourceError(err) ? std::strerror(err) : "";
}

}  // namespace

asio::awaitable<ProbeResult> probe(asio::any_io_executor executor, ProbeSpec spec,
                                   net::Endpoint target) {
  auto start = std::chrono::steady_clock::now();
  // Two statements, not `cond ? co_await a : co_await b`: g++ 12 miscompiles co_await inside a
  // conditional expression (the result string was freed early).
  ProbeResult result;
  if (spec.kind == ProbeSpec::Kind::Tcp) {
    result = co_await tcpProbe(executor, spec.timeout, target);
  } else if (spec.kind == ProbeSpec::Kind::Postgres) {
    PgRoleCheck check{spec.pg_role, spec.pg_user, spec.pg_database};
    result = co_await pgRoleProbe(executor, check, target, spec.timeout);
  } else if (spec.kind == ProbeSpec::Kind::Redis) {
    result = co_await redisRoleProbe(executor, spec.redis_role, target, spec.timeout);
  } else {
    result = co_await httpProbe(executor, spec, target);
  }
  if (!result.ok && !result.inconclusive && !result.promoting && !result.draining) {
    if (auto local = localSocketProblem(); !local.empty()) {
      result.inconclusive = true;
      result.detail += " (this process: " + local + ")";
    }
  }
  result.latency = std::chrono::steady_clock::now() - start;
  co_return result;
}

}  // namespace rampart::health

#include "health/pg_probe.h"

#include <unistd.h>

#include <memory>

#include <libpq-fe.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/deadline.h"

namespace rampart::health {
namespace asio = boost::asio;

namespace {

struct PgFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgFinish>;

// Quotes a conninfo value.
std::string quoted(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out + "'";
}

// Waits until libpq's socket is ready for `what`, or the deadline. False on timeout, and when
// no descriptor is left for the dup (probe() then sees the exhaustion and calls the check
// inconclusive).
asio::awaitable<bool> waitSocket(asio::any_io_executor ex, PGconn* c,
                                 asio::posix::descriptor_base::wait_type what, TimePoint deadline) {
  // libpq may replace its socket between connect steps, so wrap a dup of the current one.
  int fd = ::dup(PQsocket(c));
  if (fd < 0) {
    co_return false;
  }
  asio::posix::stream_descriptor sd(ex, fd);
  auto cancel_wait = [&sd] {
    boost::system::error_code ignored;
    sd.cancel(ignored);
  };
  runtime::DeadlineGuard guard(ex, deadline, cancel_wait);
  co_await sd.async_wait(what, asio::as_tuple(asio::use_awaitable));
  co_return !guard.expired();
}

ProbeResult failed(std::string why) {
  ProbeResult r;
  r.detail = std::move(why);
  return r;
}

std::string lastError(PGconn* c) {
  std::string e = PQerrorMessage(c);
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) {
    e.pop_back();
  }
  return e.empty() ? "unknown libpq error" : e;
}

}  // namespace

asio::awaitable<ProbeResult> pgRoleProbe(asio::any_io_executor ex, PgRoleCheck check,
                                         net::Endpoint target, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string conninfo = "host=" + quoted(target.host) + " port=" + std::to_string(target.port) +
                         " user=" + quoted(check.user) + " dbname=" + quoted(check.database) +
                         " application_name='rampart-check'";
  PgConn conn(PQconnectStart(conninfo.c_str()));
  if (!conn || PQstatus(conn.get()) == CONNECTION_BAD) {
    co_return failed(conn ? lastError(conn.get()) : "out of memory");
  }
  for (;;) {
    auto st = PQconnectPoll(conn.get());
    if (st == PGRES_POLLING_OK) {
      break;
    }
    if (st == PGRES_POLLING_FAILED) {
      co_return failed(lastError(conn.get()));
    }
    auto what = st == PGRES_POLLING_READING ? asio::posix::descriptor_base::wait_read
                                            : asio::posix::descriptor_base::wait_write;
    if (!co_await waitSocket(ex, conn.get(), what, deadline)) {
      co_return failed("connect timed out");
    }
  }
  if (PQsetnonblocking(conn.get(), 1) != 0 ||
      PQsendQuery(conn.get(), "select pg_is_in_recovery()") != 1) {
    co_return failed(lastError(conn.get()));
  }
  while (PQflush(conn.get()) == 1) {
    if (!co_await waitSocket(ex, conn.get(), asio::posix::descriptor_base::wait_write, deadline)) {
      co_return failed("query timed out");
    }
  }
  std::string value;
  for (;;) {
    if (PQconsumeInput(conn.get()) != 1) {
      co_return failed(lastError(conn.get()));
    }
    if (PQisBusy(conn.get())) {
      if (!co_await waitSocket(ex, conn.get(), asio::posix::descriptor_base::wait_read, deadline)) {
        co_return failed("query timed out");
      }
      continue;
    }
    PGresult* result = PQgetResult(conn.get());
    if (!result) {
      break;
    }
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) {
      value = PQgetvalue(result, 0, 0);
    } else if (value.empty()) {
      value = "error: " + std::string(PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  if (value != "t" && value != "f") {
    co_return failed(value.empty() ? "no answer to pg_is_in_recovery()" : value);
  }
  std::string role = value == "f" ? "primary" : "replica";
  ProbeResult out;
  out.ok = role == check.role;
  out.detail = "role " + role;
  co_return out;
}

}  // namespace rampart::health

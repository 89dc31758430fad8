#include "pq/async.h"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/deadline.h"

namespace rampart::pq {
namespace asio = boost::asio;

namespace {

enum class Wait { Ready, Timeout, NoDescriptor };

// Waits until libpq's `socket` is ready for `next`, or the deadline. libpq owns the socket (and
// may replace it between connect steps: callers pass the current one), so the wait is on a dup.
asio::awaitable<Wait> waitSocket(asio::any_io_executor ex, int socket, Next next,
                                 TimePoint deadline) {
  int fd = ::dup(socket);
  if (fd < 0) {
    co_return Wait::NoDescriptor;
  }
  asio::posix::stream_descriptor sd(ex, fd);
  auto cancel_wait = [&sd] {
    boost::system::error_code ignored;
    sd.cancel(ignored);
  };
  runtime::DeadlineGuard guard(ex, deadline, cancel_wait);
  // ReadWrite (a query that did not fit in one send) waits for writability only: the queries
  // sent on a loop are a few bytes, and a server answering before it read them all does not
  // fill our receive buffer. libpq consumes what arrived on the next step either way.
  auto what = next == Next::Read ? asio::posix::descriptor_base::wait_read
                                 : asio::posix::descriptor_base::wait_write;
  co_await sd.async_wait(what, asio::as_tuple(asio::use_awaitable));
  co_return guard.expired() ? Wait::Timeout : Wait::Ready;
}

tl::unexpected<Error> waitFailed(Connection& c, Wait w, const char* what) {
  c.close();
  if (w == Wait::Timeout) {
    return fail(ErrorCode::DeadlineExceeded, what);
  }
  return fail(ErrorCode::Unavailable,
              "cannot wait on the connection's socket (no descriptor "
              "left for its dup)");
}

}  // namespace

asio::awaitable<Result<Connection>> asyncConnect(asio::any_io_executor ex, std::string conninfo,
                                                 TimePoint deadline, ConnectOptions options) {
  auto conn = Connection::start(conninfo, options);
  if (!conn) {
    co_return conn;
  }
  Next next = Next::Write;  // as libpq's own PQconnectdb begins
  while (next != Next::Done) {
    auto w = co_await waitSocket(ex, conn->socket(), next, deadline);
    if (w != Wait::Ready) {
      co_return waitFailed(*conn, w, "connect timed out");
    }
    auto step = conn->connectStep();
    if (!step) {
      co_return fail(step.error());
    }
    next = *step;
  }
  co_return conn;
}

asio::awaitable<Result<Rows>> asyncQuery(asio::any_io_executor ex, Connection& conn,
                                         std::string sql, TimePoint deadline) {
  if (auto s = conn.send(sql); !s) {
    co_return fail(s.error());
  }
  for (;;) {
    auto next = conn.queryStep();
    if (!next) {
      co_return fail(next.error());
    }
    if (*next == Next::Done) {
      co_return conn.takeRows();
    }
    auto w = co_await waitSocket(ex, conn.socket(), *next, deadline);
    if (w != Wait::Ready) {
      co_return waitFailed(conn, w, "no answer in time (connection closed)");
    }
  }
}

}  // namespace rampart::pq

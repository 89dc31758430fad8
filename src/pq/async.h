#pragma once
// The libpq layer (pq/connection.h) on an asio event loop: connect and query as coroutines that
// never block the loop. Each wait is on the connection's socket with the deadline as a timer
// (runtime::DeadlineGuard); a missed deadline closes the connection, as the blocking calls do.
//
// For the balancer's PostgreSQL role check: one connection per probe, used by one coroutine on
// one loop. The Connection passed to asyncQuery must outlive the co_await (the caller's local).

#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "pq/connection.h"

namespace rampart::pq {

// Errors as Connection::connect: Unavailable (refused, authentication, ...), DeadlineExceeded.
boost::asio::awaitable<Result<Connection>> asyncConnect(boost::asio::any_io_executor executor,
                                                        std::string conninfo, TimePoint deadline,
                                                        ConnectOptions options = {});
// The simple protocol (`sql` may hold several statements); errors as Connection::query.
boost::asio::awaitable<Result<Rows>> asyncQuery(boost::asio::any_io_executor executor,
                                                Connection& connection, std::string sql,
                                                TimePoint deadline);

}  // namespace rampart::pq

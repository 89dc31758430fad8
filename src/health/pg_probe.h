#pragma once
// The PostgreSQL role check: connects through the libpq layer on the caller's event loop
// (pq/async.h: non-blocking, so a hung server never blocks it) and asks
// `select pg_is_in_recovery()`. A member passes
// a `primary` check only when it answers false (writable), a `replica` check only when it
// answers true. The whole probe is bounded by the timeout; libpq's own connect_timeout (whole
// seconds, at least 2) is not relied on.

#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "health/probe.h"
#include "pq/connection.h"

namespace rampart::health {

struct PgRoleCheck {
  std::string role = "primary";  // or "replica"
  std::string user = "postgres";
  std::string database = "postgres";
};

// The connection string of the check (values quoted by libpq's rules: pq::Conninfo).
Result<std::string> pgRoleConninfo(const PgRoleCheck& check, const net::Endpoint& target);

// The verdict on the answer to `select pg_is_in_recovery()` (or why there was none): pure.
ProbeResult pgRoleVerdict(const std::string& role, const Result<pq::Rows>& answer);

boost::asio::awaitable<ProbeResult> pgRoleProbe(boost::asio::any_io_executor executor,
                                                PgRoleCheck check, net::Endpoint target,
                                                Duration timeout);

}  // namespace rampart::health

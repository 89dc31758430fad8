#pragma once
// The PostgreSQL role check: connects with libpq (non-blocking, driven by the caller's event
// loop, so a hung server never blocks it) and asks `select pg_is_in_recovery()`. A member passes
// a `primary` check only when it answers false (writable), a `replica` check only when it
// answers true. The whole probe is bounded by the timeout; libpq's own connect_timeout (whole
// seconds, at least 2) is not relied on.

#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "health/probe.h"

namespace rampart::health {

struct PgRoleCheck {
  std::string role = "primary";  // or "replica"
  std::string user = "postgres";
  std::string database = "postgres";
};

boost::asio::awaitable<ProbeResult> pgRoleProbe(boost::asio::any_io_executor executor,
                                                PgRoleCheck check, net::Endpoint target,
                                                Duration timeout);

}  // namespace rampart::health

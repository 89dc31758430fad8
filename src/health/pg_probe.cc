#include "health/pg_probe.h"

#include "pq/async.h"
#include "pq/conninfo.h"

namespace rampart::health {
namespace asio = boost::asio;

namespace {

ProbeResult failed(std::string why) {
  ProbeResult r;
  r.detail = std::move(why);
  return r;
}

}  // namespace

Result<std::string> pgRoleConninfo(const PgRoleCheck& check, const net::Endpoint& target) {
  return pq::Conninfo()
      .set("host", target.host)
      .set("port", target.port)
      .set("user", check.user)
      .set("dbname", check.database)
      .set("application_name", "rampart-check")
      .str();
}

ProbeResult pgRoleVerdict(const std::string& role, const Result<pq::Rows>& answer) {
  if (!answer) {
    return failed(answer.error().message);
  }
  const auto& rows = answer->rows;
  if (rows.size() != 1 || rows[0].size() != 1 || !rows[0][0] ||
      (*rows[0][0] != "t" && *rows[0][0] != "f")) {
    return failed("no answer to pg_is_in_recovery()");
  }
  std::string is = *rows[0][0] == "f" ? "primary" : "replica";
  ProbeResult out;
  out.ok = is == role;
  out.detail = "role " + is;
  return out;
}

asio::awaitable<ProbeResult> pgRoleProbe(asio::any_io_executor ex, PgRoleCheck check,
                                         net::Endpoint target, Duration timeout) {
  // The whole probe (connect and query) is bounded by one deadline.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto conninfo = pgRoleConninfo(check, target);
  if (!conninfo) {
    co_return failed(conninfo.error().message);
  }
  auto conn = co_await pq::asyncConnect(ex, *conninfo, deadline);
  if (!conn) {
    co_return failed(conn.error().message);
  }
  auto answer = co_await pq::asyncQuery(ex, *conn, "select pg_is_in_recovery()", deadline);
  co_return pgRoleVerdict(check.role, answer);
}

}  // namespace rampart::health

#include "chaos/pg_session.h"

#include "pq/conninfo.h"

namespace rampart::chaos {

namespace {

std::string endpointOf(const PgTarget& t) { return t.host + ":" + std::to_string(t.port); }

}  // namespace

Result<std::unique_ptr<PgSession>> PgSession::connect(const PgTarget& target, TimePoint deadline) {
  // No SSL or GSS negotiation: loopback labs, and each would add round trips to every connect.
  pq::Conninfo conninfo;
  conninfo.set("host", target.host)
      .set("port", target.port)
      .set("user", target.user)
      .set("dbname", target.database)
      .set("application_name", target.application_name)
      .raw("sslmode=disable gssencmode=disable connect_timeout=2");
  if (!target.password.empty()) {
    conninfo.set("password", target.password);
  }
  auto text = conninfo.str();
  if (!text) {
    return fail(text.error().code, "connect ", endpointOf(target), ": ", text.error().message);
  }
  // The WARNINGs come back in PgRows (a commit whose replication wait was cancelled): not on
  // stderr.
  auto conn = pq::Connection::connect(*text, deadline, pq::ConnectOptions{.print_notices = false});
  if (!conn) {
    return fail(conn.error().code, "connect ", endpointOf(target), ": ", conn.error().message);
  }
  return std::unique_ptr<PgSession>(new PgSession(target, std::move(*conn)));
}

std::string PgSession::where() const { return endpointOf(target_); }

Result<PgRows> PgSession::query(const std::string& sql, const std::vector<std::string>& params,
                                TimePoint deadline) {
  if (broken()) {
    return fail(ErrorCode::Unavailable, where(), ": connection closed");
  }
  auto answer = conn_->query(sql, params, deadline);
  if (!answer) {
    return fail(answer.error().code, where(), ": ", answer.error().message);
  }
  PgRows out;
  for (auto& row : answer->rows) {
    std::vector<std::string> values;
    values.reserve(row.size());
    for (auto& v : row) {
      values.push_back(v ? std::move(*v) : std::string());  // NULL reads as ""
    }
    out.rows.push_back(std::move(values));
  }
  out.warnings = std::move(answer->warnings);
  return out;
}

}  // namespace rampart::chaos

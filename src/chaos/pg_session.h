#pragma once
// PgSession: one PostgreSQL connection whose every call ends by a deadline, for the chaos writers
// and checks: the libpq layer's blocking Connection (pq/connection.h, non-blocking libpq waited on
// with poll()), so a frozen or partitioned server cannot hold a thread past the deadline. It adds
// the target (host, credentials, application_name) and names it in every error.
//
// On a missed deadline the session is only closed: it never sends a cancel request and never
// sets statement_timeout. PostgreSQL reports a commit whose synchronous-replication wait was
// cancelled as a success (with a WARNING), which would turn an unreplicated write into a fake
// acknowledgement. A write cut off this way has an unknown outcome.
//
// Errors of query():
//   FailedPrecondition: the server answered with an ERROR and the connection is still usable
//     (the statement was rolled back);
//   Unavailable / DeadlineExceeded: the connection broke or the deadline passed; the session is
//     closed (broken() is true) and the statement's outcome is unknown.
// Not thread-safe: one session per thread.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "pq/connection.h"

namespace rampart::chaos {

struct PgTarget {
  std::string host;
  int port = 0;
  std::string user;
  std::string password;
  std::string database;
  std::string application_name = "rampart-chaos";
};

struct PgRows {
  std::vector<std::vector<std::string>> rows;  // NULL reads as ""
  std::vector<std::string> warnings;           // WARNING notices received with the result
};

class PgSession {
 public:
  static Result<std::unique_ptr<PgSession>> connect(const PgTarget& target, TimePoint deadline);
  ~PgSession() = default;
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // One statement with text parameters; all of its rows.
  Result<PgRows> query(const std::string& sql, const std::vector<std::string>& params,
                       TimePoint deadline);
  bool broken() const { return !conn_ || conn_->broken(); }
  const PgTarget& target() const { return target_; }

 private:
  PgSession(PgTarget target, pq::Connection conn)
      : target_(std::move(target)), conn_(std::move(conn)) {}
  std::string where() const;

  PgTarget target_;
  std::optional<pq::Connection> conn_;
};

}  // namespace rampart::chaos

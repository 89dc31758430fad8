#pragma once
// PgSession: one libpq connection whose every call ends by a deadline, for the chaos writers and
// checks. libpq is driven non-blocking (PQconnectStart/PQconnectPoll, PQsendQueryParams) and
// waited on with poll(), so a frozen or partitioned server cannot hold a thread past the deadline.
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

struct pg_conn;

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
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // One statement with text parameters; all of its rows.
  Result<PgRows> query(const std::string& sql, const std::vector<std::string>& params,
                       TimePoint deadline);
  bool broken() const { return conn_ == nullptr; }
  const PgTarget& target() const { return target_; }

 private:
  explicit PgSession(PgTarget target) : target_(std::move(target)) {}
  void close();
  std::string where() const;

  PgTarget target_;
  pg_conn* conn_ = nullptr;
  std::vector<std::string> notices_;  // filled by libpq's notice receiver
};

}  // namespace rampart::chaos

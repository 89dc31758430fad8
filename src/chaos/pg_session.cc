#include "chaos/pg_session.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <libpq-fe.h>

namespace rampart::chaos {
namespace {

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

std::string trimmed(std::string e) {
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) {
    e.pop_back();
  }
  return e;
}

std::string lastError(PGconn* c) {
  std::string e = c ? trimmed(PQerrorMessage(c)) : "";
  return e.empty() ? "unknown libpq error" : e;
}

enum class Wait { Ready, Timeout, Error };

// Waits until libpq's socket is ready for `events` or the deadline passes. The socket is read
// each time: libpq may replace it between connect steps.
Wait waitSocket(PGconn* c, short events, TimePoint deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Wait::Timeout;
    }
    struct pollfd p {};
    p.fd = PQsocket(c);
    if (p.fd < 0) {
      return Wait::Error;
    }
    p.events = events;
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 1000)));
    if (n > 0) {
      return Wait::Ready;  // readiness, hang-up and error are all for libpq to interpret
    }
    if (n < 0 && errno != EINTR) {
      return Wait::Error;
    }
  }
}

void receiveNotice(void* arg, const PGresult* result) {
  const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity && std::strcmp(severity, "WARNING") == 0) {
    static_cast<std::vector<std::string>*>(arg)->push_back(trimmed(PQresultErrorMessage(result)));
  }
}

}  // namespace

Result<std::unique_ptr<PgSession>> PgSession::connect(const PgTarget& target, TimePoint deadline) {
  std::unique_ptr<PgSession> s(new PgSession(target));
  // No SSL or GSS negotiation: loopback labs, and each would add round trips to every connect.
  std::string conninfo = "host=" + quoted(target.host) + " port=" + std::to_string(target.port) +
                         " user=" + quoted(target.user) + " dbname=" + quoted(target.database) +
                         " application_name=" + quoted(target.application_name) +
                         " sslmode=disable gssencmode=disable connect_timeout=2";
  if (!target.password.empty()) {
    conninfo += " password=" + quoted(target.password);
  }
  s->conn_ = PQconnectStart(conninfo.c_str());
  if (!s->conn_) {
    return fail(ErrorCode::Internal, "connect ", s->where(), ": out of memory");
  }
  if (PQstatus(s->conn_) == CONNECTION_BAD) {
    auto e = lastError(s->conn_);
    s->close();
    return fail(ErrorCode::Unavailable, "connect ", s->where(), ": ", e);
  }
  for (;;) {
    auto st = PQconnectPoll(s->conn_);
    if (st == PGRES_POLLING_OK) {
      break;
    }
    if (st == PGRES_POLLING_FAILED) {
      auto e = lastError(s->conn_);
      s->close();
      return fail(ErrorCode::Unavailable, "connect ", s->where(), ": ", e);
    }
    short events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    auto w = waitSocket(s->conn_, events, deadline);
    if (w != Wait::Ready) {
      s->close();
      return fail(w == Wait::Timeout ? ErrorCode::DeadlineExceeded : ErrorCode::Unavailable,
                  "connect ", s->where(), ": ", w == Wait::Timeout ? "timed out" : "poll failed");
    }
  }
  if (PQsetnonblocking(s->conn_, 1) != 0) {
    auto e = lastError(s->conn_);
    s->close();
    return fail(ErrorCode::Unavailable, "connect ", s->where(), ": ", e);
  }
  PQsetNoticeReceiver(s->conn_, receiveNotice, &s->notices_);
  return s;
}

PgSession::~PgSession() { close(); }

void PgSession::close() {
  if (conn_) {
    // PQfinish only sends a Terminate message (non-blocking here); never a cancel request.
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

std::string PgSession::where() const { return target_.host + ":" + std::to_string(target_.port); }

Result<PgRows> PgSession::query(const std::string& sql, const std::vector<std::string>& params,
                                TimePoint deadline) {
  if (!conn_) {
    return fail(ErrorCode::Unavailable, where(), ": connection closed");
  }
  notices_.clear();
  std::vector<const char*> values;
  for (const auto& p : params) {
    values.push_back(p.c_str());
  }
  auto broken = [&](ErrorCode code, const std::string& why) {
    close();
    return fail(code, where(), ": ", why);
  };
  if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                        nullptr, nullptr, 0) != 1) {
    return broken(ErrorCode::Unavailable, lastError(conn_));
  }
  for (;;) {
    int f = PQflush(conn_);
    if (f == 0) {
      break;
    }
    if (f < 0) {
      return broken(ErrorCode::Unavailable, lastError(conn_));
    }
    auto w = waitSocket(conn_, POLLOUT | POLLIN, deadline);
    if (w == Wait::Timeout) {
      return broken(ErrorCode::DeadlineExceeded, "no answer in time (connection closed)");
    }
    if (w == Wait::Error) {
      return broken(ErrorCode::Unavailable, "poll failed");
    }
    // libpq wants input consumed while it waits to send (the server may be sending too).
    if (PQconsumeInput(conn_) != 1) {
      return broken(ErrorCode::Unavailable, lastError(conn_));
    }
  }
  PgRows out;
  std::optional<std::string> server_error;
  bool fatal = false;
  for (;;) {
    if (PQconsumeInput(conn_) != 1) {
      return broken(ErrorCode::Unavailable, lastError(conn_));
    }
    if (PQisBusy(conn_)) {
      auto w = waitSocket(conn_, POLLIN, deadline);
      if (w == Wait::Timeout) {
        return broken(ErrorCode::DeadlineExceeded, "no answer in time (connection closed)");
      }
      if (w == Wait::Error) {
        return broken(ErrorCode::Unavailable, "poll failed");
      }
      continue;
    }
    PGresult* res = PQgetResult(conn_);
    if (!res) {
      break;
    }
    auto status = PQresultStatus(res);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      for (int r = 0; r < PQntuples(res); ++r) {
        std::vector<std::string> row;
        for (int c = 0; c < PQnfields(res); ++c) {
          row.emplace_back(PQgetvalue(res, r, c));
        }
        out.rows.push_back(std::move(row));
      }
    } else {
      // Only an ERROR rolls the statement back for sure; FATAL and PANIC end the session, possibly
      // after the commit (e.g. "terminating connection" while waiting for a sync standby).
      const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
      if (!severity || std::strcmp(severity, "ERROR") != 0) {
        fatal = true;
      }
      if (!server_error) {
        server_error = trimmed(PQresultErrorMessage(res));
        if (server_error->empty()) {
          server_error = std::string(PQresStatus(status));
        }
      }
    }
    PQclear(res);
  }
  out.warnings = std::move(notices_);
  notices_.clear();
  if (fatal || PQstatus(conn_) != CONNECTION_OK) {
    // E.g. FATAL during the commit (the server shutting down): the commit may have happened.
    return broken(ErrorCode::Unavailable,
                  server_error ? *server_error : std::string("connection lost"));
  }
  if (server_error) {
    return fail(ErrorCode::FailedPrecondition, where(), ": ", *server_error);
  }
  return out;
}

}  // namespace rampart::chaos

#include "pq/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rampart::pq {

struct Connection::State {
  PGconn* conn = nullptr;
  const Clock* clock = nullptr;
  bool print_notices = true;
  PQnoticeReceiver default_receiver = nullptr;  // libpq's, which prints on stderr
  std::vector<std::string> warnings;            // filled by the notice receiver
  // The query in progress.
  enum class Phase { Idle, Flushing, Reading, Done } phase = Phase::Idle;
  Rows rows;
  std::optional<std::string> server_error;
  bool fatal = false;  // a result with a severity other than ERROR (FATAL, PANIC)

  ~State() {
    if (conn) {
      PQfinish(conn);
    }
  }
};

namespace {

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

// Waits until `fd` is ready for `next` or the deadline passes on `clock`. poll() sleeps at most
// a second at a time, so a clock that is not the wall's (a test's) is re-read often.
enum class Wait { Ready, Timeout, Error };
Wait waitSocket(int fd, Next next, TimePoint deadline, const Clock& clock) {
  if (fd < 0) {
    return Wait::Error;
  }
  short events = next == Next::Read ? POLLIN : next == Next::Write ? POLLOUT : (POLLIN | POLLOUT);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.now());
    if (left.count() <= 0) {
      return Wait::Timeout;
    }
    pollfd p{fd, events, 0};
    // +1: poll's milliseconds round down, and waking just before the deadline would loop.
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 1000)));
    if (n > 0) {
      return Wait::Ready;  // readiness, hang-up and error are all for libpq to interpret
    }
    if (n < 0 && errno != EINTR) {
      return Wait::Error;
    }
  }
}

}  // namespace

Connection::Connection(std::unique_ptr<State> state) : state_(std::move(state)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Result<Connection> Connection::start(const std::string& conninfo, ConnectOptions options,
                                     const Clock& clock) {
  auto state = std::make_unique<State>();
  state->clock = &clock;
  state->print_notices = options.print_notices;
  state->conn = PQconnectStart(conninfo.c_str());
  if (!state->conn) {
    return fail(ErrorCode::Internal, "libpq: out of memory");
  }
  if (PQstatus(state->conn) == CONNECTION_BAD) {
    return fail(ErrorCode::Unavailable, lastError(state->conn));
  }
  return Connection(std::move(state));
}

Result<Next> Connection::connectStep() {
  PGconn* c = state_ ? state_->conn : nullptr;
  if (!c) {
    return fail(ErrorCode::Unavailable, "connection closed");
  }
  switch (PQconnectPoll(c)) {
    case PGRES_POLLING_OK:
      break;
    case PGRES_POLLING_READING:
      return Next::Read;
    case PGRES_POLLING_WRITING:
      return Next::Write;
    default: {
      auto e = lastError(c);
      close();
      return fail(ErrorCode::Unavailable, e);
    }
  }
  if (PQsetnonblocking(c, 1) != 0) {
    auto e = lastError(c);
    close();
    return fail(ErrorCode::Unavailable, e);
  }
  // Non-capturing, so it converts to libpq's function pointer; a member, so it sees State.
  auto receive = [](void* arg, const PGresult* result) {
    auto* state = static_cast<State*>(arg);
    const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity && std::strcmp(severity, "WARNING") == 0) {
      state->warnings.push_back(trimmed(PQresultErrorMessage(result)));
    }
    if (state->print_notices && state->default_receiver) {
      // libpq's default receiver takes no argument of its own (it is registered with NULL).
      state->default_receiver(nullptr, result);
    }
  };
  state_->default_receiver = PQsetNoticeReceiver(c, receive, state_.get());
  return Next::Done;
}

Result<Connection> Connection::connect(const std::string& conninfo, TimePoint deadline,
                                       ConnectOptions options, const Clock& clock) {
  auto conn = start(conninfo, options, clock);
  if (!conn) {
    return conn;
  }
  // libpq's own PQconnectdb starts by waiting for the socket to be writable.
  Next next = Next::Write;
  while (next != Next::Done) {
    auto w = waitSocket(conn->socket(), next, deadline, clock);
    if (w != Wait::Ready) {
      conn->close();
      return w == Wait::Timeout ? fail(ErrorCode::DeadlineExceeded, "connect timed out")
                                : fail(ErrorCode::Unavailable, "connect: poll failed");
    }
    auto step = conn->connectStep();
    if (!step) {
      return fail(step.error());
    }
    next = *step;
  }
  return conn;
}

void Connection::close() {
  if (state_ && state_->conn) {
    PQfinish(state_->conn);
    state_->conn = nullptr;
  }
}

int Connection::socket() const { return state_ && state_->conn ? PQsocket(state_->conn) : -1; }

bool Connection::broken() const { return !state_ || !state_->conn; }

namespace {

// libpq's escapers (PQescapeLiteral, PQescapeIdentifier) return memory to free with PQfreemem,
// or null when the connection's encoding refuses the value.
template <typename Escape>
std::optional<std::string> escapeWith(PGconn* conn, const std::string& value, Escape escape) {
  char* escaped = escape(conn, value.data(), value.size());
  if (!escaped) {
    return std::nullopt;
  }
  std::string out(escaped);
  PQfreemem(escaped);
  return out;
}

}  // namespace

std::optional<std::string> Connection::literal(const std::string& value) const {
  if (broken()) {
    return std::nullopt;
  }
  return escapeWith(state_->conn, value, PQescapeLiteral);
}

std::optional<std::string> Connection::identifier(const std::string& name) const {
  if (broken()) {
    return std::nullopt;
  }
  return escapeWith(state_->conn, name, PQescapeIdentifier);
}

Result<void> Connection::send(const std::string& sql) {
  if (broken()) {
    return fail(ErrorCode::Unavailable, "connection closed");
  }
  state_->warnings.clear();
  state_->rows = Rows{};
  state_->server_error.reset();
  state_->fatal = false;
  if (PQsendQuery(state_->conn, sql.c_str()) != 1) {
    auto e = lastError(state_->conn);
    close();
    return fail(ErrorCode::Unavailable, e);
  }
  state_->phase = State::Phase::Flushing;
  return ok();
}

Result<void> Connection::send(const std::string& sql, const std::vector<std::string>& params) {
  if (broken()) {
    return fail(ErrorCode::Unavailable, "connection closed");
  }
  state_->warnings.clear();
  state_->rows = Rows{};
  state_->server_error.reset();
  state_->fatal = false;
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p.c_str());
  }
  if (PQsendQueryParams(state_->conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, 0) != 1) {
    auto e = lastError(state_->conn);
    close();
    return fail(ErrorCode::Unavailable, e);
  }
  state_->phase = State::Phase::Flushing;
  return ok();
}

Result<Next> Connection::queryStep() {
  if (broken()) {
    return fail(ErrorCode::Unavailable, "connection closed");
  }
  PGconn* c = state_->conn;
  auto broke = [&] {
    auto e = lastError(c);
    close();
    return fail(ErrorCode::Unavailable, e);
  };
  if (state_->phase == State::Phase::Flushing) {
    // libpq wants input consumed while it waits to send (the server may be sending too).
    if (PQconsumeInput(c) != 1) {
      return broke();
    }
    int f = PQflush(c);
    if (f < 0) {
      return broke();
    }
    if (f == 1) {
      return Next::ReadWrite;
    }
    state_->phase = State::Phase::Reading;
  }
  if (state_->phase != State::Phase::Reading) {
    return Next::Done;
  }
  for (;;) {
    if (PQconsumeInput(c) != 1) {
      return broke();
    }
    if (PQisBusy(c)) {
      return Next::Read;
    }
    PGresult* res = PQgetResult(c);
    if (!res) {
      state_->phase = State::Phase::Done;
      return Next::Done;
    }
    auto status = PQresultStatus(res);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      for (int r = 0; r < PQntuples(res); ++r) {
        Row row;
        row.reserve(static_cast<size_t>(PQnfields(res)));
        for (int f = 0; f < PQnfields(res); ++f) {
          row.push_back(PQgetisnull(res, r, f) ? std::nullopt
                                               : std::optional<std::string>(PQgetvalue(res, r, f)));
        }
        state_->rows.rows.push_back(std::move(row));
      }
    } else {
      // Only an ERROR rolls the statement back for sure; FATAL and PANIC end the session,
      // possibly after the commit (e.g. "terminating connection" while waiting for a sync
      // standby).
      const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
      if (!severity || std::strcmp(severity, "ERROR") != 0) {
        state_->fatal = true;
      }
      if (!state_->server_error) {
        std::string e = trimmed(PQresultErrorMessage(res));
        state_->server_error = e.empty() ? std::string(PQresStatus(status)) : e;
      }
    }
    PQclear(res);
  }
}

Result<Rows> Connection::takeRows() {
  if (broken()) {
    return fail(ErrorCode::Unavailable, "connection closed");
  }
  if (state_->phase != State::Phase::Done) {
    return fail(ErrorCode::FailedPrecondition, "no complete answer to take");
  }
  state_->phase = State::Phase::Idle;
  Rows out = std::move(state_->rows);
  state_->rows = Rows{};
  out.warnings = std::move(state_->warnings);
  state_->warnings.clear();
  auto server_error = std::move(state_->server_error);
  state_->server_error.reset();
  if (state_->fatal || PQstatus(state_->conn) != CONNECTION_OK) {
    // E.g. FATAL during the commit (the server shutting down): the commit may have happened.
    close();
    return fail(ErrorCode::Unavailable, server_error ? *server_error : "connection lost");
  }
  if (server_error) {
    return fail(ErrorCode::FailedPrecondition, *server_error);
  }
  return out;
}

Result<Rows> Connection::finishQuery(TimePoint deadline) {
  for (;;) {
    auto next = queryStep();
    if (!next) {
      return fail(next.error());
    }
    if (*next == Next::Done) {
      return takeRows();
    }
    auto w = waitSocket(socket(), *next, deadline, *state_->clock);
    if (w != Wait::Ready) {
      close();
      return w == Wait::Timeout
                 ? fail(ErrorCode::DeadlineExceeded, "no answer in time (connection closed)")
                 : fail(ErrorCode::Unavailable, "poll failed");
    }
  }
}

Result<Rows> Connection::query(const std::string& sql, TimePoint deadline) {
  if (auto s = send(sql); !s) {
    return fail(s.error());
  }
  return finishQuery(deadline);
}

Result<Rows> Connection::query(const std::string& sql, const std::vector<std::string>& params,
                               TimePoint deadline) {
  if (auto s = send(sql, params); !s) {
    return fail(s.error());
  }
  return finishQuery(deadline);
}

}  // namespace rampart::pq

#pragma once
// Connection: one libpq connection; the only code in Rampart that calls libpq's connection and
// query functions (the member manager's pg::PgConn, the chaos writers' chaos::PgSession and the
// balancer's PostgreSQL role check are thin users of it). libpq is always driven non-blocking
// (PQconnectStart/PQconnectPoll, PQsendQuery*, PQflush, PQconsumeInput); who waits on the socket
// is the caller's choice:
//   - blocking, bounded by a deadline: connect() and query() wait with poll() on the Clock's
//     deadline. For worker threads, never an event loop.
//   - on an event loop: the step functions (connectStep, queryStep) never block; pq/async.h
//     drives them with asio, so a frozen server costs the loop nothing.
//
// A missed deadline only closes the connection: no cancel request is ever sent and no
// statement_timeout set. PostgreSQL reports a commit whose synchronous-replication wait was
// cancelled as a success (with a WARNING), which would turn an unreplicated write into a fake
// acknowledgement; a statement cut off by a deadline has an unknown outcome.
//
// Errors of query() (and of queryStep/takeRows):
//   FailedPrecondition: the server answered with an ERROR; the statement was rolled back and the
//     connection is still usable;
//   Unavailable / DeadlineExceeded: the connection broke (or a FATAL ended the session, possibly
//     after a commit) or the deadline passed; the connection is closed (broken() is true) and the
//     statement's outcome is unknown.
// Messages are libpq's or the server's, without the endpoint: callers name it.
//
// Not thread-safe: one thread (or one event loop) uses a Connection at a time; it may be moved
// between them. The Connection owns the libpq connection and closes it (PQfinish: a Terminate
// message, never a cancel request) when destroyed.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::pq {

using Row = std::vector<std::optional<std::string>>;  // nullopt: SQL NULL

struct Rows {
  std::vector<Row> rows;              // every row of every result of the query, in order
  std::vector<std::string> warnings;  // WARNING notices the server sent with it
};

struct ConnectOptions {
  // libpq prints notices (WARNING, NOTICE) on stderr by default; a caller that reads the
  // WARNINGs from Rows turns that off.
  bool print_notices = true;
};

// What a step needs before it can go on.
enum class Next {
  Done,       // connected / the query's answer is complete
  Read,       // wait until the socket is readable, then step again
  Write,      // ... writable
  ReadWrite,  // ... either (libpq is sending and the server may be sending too)
};

class Connection {
 public:
  // ---- Blocking, bounded by `deadline` on `clock` (the clock must outlive the Connection) ----
  static Result<Connection> connect(const std::string& conninfo, TimePoint deadline,
                                    ConnectOptions options = {},
                                    const Clock& clock = SteadyClock::instance());
  // The simple protocol: `sql` may hold several statements; the rows of all of them.
  Result<Rows> query(const std::string& sql, TimePoint deadline);
  // The extended protocol: one statement with text parameters ($1, $2, ...).
  Result<Rows> query(const std::string& sql, const std::vector<std::string>& params,
                     TimePoint deadline);

  // ---- Steps, for a caller that waits on socket() itself (pq/async.h) ----
  // Starts connecting (PQconnectStart); then wait for Next::Write and call connectStep().
  static Result<Connection> start(const std::string& conninfo, ConnectOptions options = {},
                                  const Clock& clock = SteadyClock::instance());
  Result<Next> connectStep();
  // Sends a query (simple protocol without params, extended with); then wait for
  // Next::ReadWrite and call queryStep() until it returns Done, then takeRows().
  Result<void> send(const std::string& sql);
  Result<void> send(const std::string& sql, const std::vector<std::string>& params);
  Result<Next> queryStep();
  Result<Rows> takeRows();
  // Closes the connection (after a missed deadline): broken() from now on.
  void close();
  int socket() const;  // libpq may replace it between connect steps: read it before each wait

  bool broken() const;

  // A string literal for SQL text ('...' with quoting), for values that cannot be parameters
  // (ALTER SYSTEM, CREATE ROLE ... PASSWORD); nullopt if libpq cannot quote it (invalid
  // encoding) or the connection is closed.
  std::optional<std::string> literal(const std::string& value) const;
  // An identifier for SQL text ("..." with quoting), e.g. a role name; nullopt as above.
  std::optional<std::string> identifier(const std::string& name) const;

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

 private:
  struct State;
  explicit Connection(std::unique_ptr<State> state);
  Result<Rows> finishQuery(TimePoint deadline);

  // On the heap: libpq's notice receiver holds a pointer to it across moves.
  std::unique_ptr<State> state_;
};

}  // namespace rampart::pq

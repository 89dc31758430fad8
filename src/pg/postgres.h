#pragma once
// One local PostgreSQL 15 instance as the member manager drives it: its files (data directory,
// run directory with the socket, password file and log), the server process (started as the
// postgres OS user with PR_SET_PDEATHSIG, so it dies with its manager), the bootstrap and clone
// tools (initdb, pg_basebackup, pg_rewind), and the SQL the manager needs.
//
// Everything here BLOCKS (bounded by the given timeouts), so the manager calls it from its worker
// threads, never from the event loop that renews the leader key. The one exception is fence(),
// which only sends signals and is safe to call from anywhere.
//
// The manager owns the configuration: postgresql.conf, pg_hba.conf and postgresql.auto.conf are
// rewritten before every start (pg_rewind copies the source's files over them).

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "pg/config.h"
#include "pg/state.h"
#include "pq/connection.h"

namespace rampart::pg {

// The manager's connection to a PostgreSQL server: the libpq layer's blocking Connection
// (pq/connection.h: non-blocking libpq driven by poll() with a deadline, so a frozen server costs
// the caller at most the timeout; never a cancel request, as PostgreSQL reports a commit whose
// synchronous-replication wait was cancelled as successful). An error answer to a query is
// Internal; a missed deadline (DeadlineExceeded) or a lost connection (Unavailable) closes it.
class PgConn {
 public:
  static Result<PgConn> connect(const std::string& conninfo, Duration timeout);

  using Row = pq::Row;
  Result<std::vector<Row>> query(const std::string& sql, Duration timeout);
  // A string literal for SQL text ('...' with quoting), for values that cannot be parameters
  // (ALTER SYSTEM, CREATE ROLE ... PASSWORD); nullopt if libpq cannot quote it (invalid
  // encoding).
  std::optional<std::string> literal(const std::string& value) const {
    return conn_.literal(value);
  }
  // An identifier for SQL text ("..." with quoting), e.g. a role name; nullopt as above.
  std::optional<std::string> identifier(const std::string& name) const {
    return conn_.identifier(name);
  }

 private:
  explicit PgConn(pq::Connection conn) : conn_(std::move(conn)) {}
  pq::Connection conn_;
};

// What the manager reads from its server every loop.
struct LocalState {
  bool running = false;    // the postmaster process is alive
  bool reachable = false;  // it answered a query
  bool in_recovery = false;
  int timeline = 0;
  Lsn write_lsn = 0;
  Lsn receive_lsn = 0;
  Lsn replay_lsn = 0;
  bool streaming = false;  // a WAL receiver is streaming
  std::string sender;      // host:port the WAL receiver is connected to
  std::string error;       // why it was not reachable
  struct Replica {
    std::string name;  // application_name
    std::string state;
    Lsn flush_lsn = 0;
    int sender_pid = 0;  // the WAL sender serving it: a new one for every reconnect
  };
  std::vector<Replica> replicas;  // primary: pg_stat_replication
};

// Where to stream from when starting or re-pointing a replica.
struct Upstream {
  std::string host;
  uint16_t port = 0;
};

class Postgres {
 public:
  explicit Postgres(const MemberConfig& config);
  ~Postgres();

  const std::string& dataDir() const { return config_.data_dir; }
  const std::string& runDir() const { return run_dir_; }
  std::string logFile() const { return run_dir_ + "/postgres.log"; }
  // A data directory that holds a cluster (PG_VERSION exists).
  bool hasData() const;

  // Prepares the run directory (socket, password file); call once at start.
  Result<void> prepare();
  // initdb with data checksums and the superuser password; then the manager's config files.
  Result<void> initdb();
  // Removes the data directory and clones it from `source` with pg_basebackup.
  Result<void> cloneFrom(const Upstream& source, Duration timeout);
  // pg_rewind against `source` (crash recovery first when needed), after an immediate checkpoint
  // on the source. True if files were rewound, false if no rewind was required; an error means
  // the data directory must be cloned again.
  Result<bool> rewindFrom(const Upstream& source, Duration timeout);

  // Starts the server: as a standby (standby.signal) streaming from `upstream` (none: detached,
  // replaying only what it has), or as a primary with `sync_names` as
  // synchronous_standby_names. Waits until it accepts connections.
  Result<void> start(bool standby, const std::optional<Upstream>& upstream,
                     const std::string& sync_names, Duration timeout);
  pid_t pid() const { return pid_.load(); }
  // Whether this object stopped (or fenced) the postmaster `pid`: its exit was asked for.
  bool stopRequested(pid_t pid) const { return pid != 0 && stop_requested_.load() == pid; }
  // Non-blocking: true while the postmaster runs (reaps it once it exits).
  bool alive();
  // Stops at once: freezes the postmaster, SIGKILLs its children and then it. After this no
  // process of the instance can acknowledge anything. Safe from any thread.
  void fence();
  // Fast shutdown (a shutdown checkpoint, every WAL record sent to connected standbys), falling
  // back to fence() after `timeout`.
  Result<void> stop(Duration timeout);
  // Immediate shutdown: no shutdown checkpoint, so no WAL is written after the last record (the
  // next start runs crash recovery). Falls back to fence() after `timeout`.
  Result<void> stopImmediately(Duration timeout);

  // Reads the server's role and positions (bounded).
  LocalState observe(Duration timeout);
  // pg_promote() without its 100 ms polling, then waits until the server is writable.
  Result<void> promote(Duration timeout);
  // Points a running standby at `upstream` (nullopt: detach, streaming from nobody) and waits,
  // when detaching, until its WAL receiver has stopped. Returns the final received position.
  Result<Lsn> setUpstream(const std::optional<Upstream>& upstream, Duration timeout);
  Result<void> setSynchronousStandbyNames(const std::string& names, Duration timeout);
  // The WAL position the server has flushed (primary) or received (standby).
  Result<Lsn> currentLsn(Duration timeout);
  // Waits (bounded) until this standby has received WAL up to `lsn`.
  Result<void> waitReceived(Lsn lsn, Duration timeout);
  // An immediate checkpoint (CHECKPOINT), on a connection of its own: it may run on another
  // thread beside the other calls, which share one cached connection.
  Result<void> checkpoint(Duration timeout);
  // Whether this running standby holds WAL that `leader`'s history does not: its replay position
  // lies past the point where the leader's timeline forked off ours (the leader's timeline
  // history file), or our timeline is not in that history. Such a server must be rewound before
  // it can follow `leader`; otherwise re-pointing it is enough.
  Result<bool> divergedFrom(const Upstream& leader, Duration timeout);
  // Creates missing physical replication slots for `members` (primary only).
  Result<void> ensureSlots(const std::vector<std::string>& members, Duration timeout);
  // Creates the replication role after bootstrap.
  Result<void> createReplicationRole(Duration timeout);
  // The first half of a planned switchover, while the server is still a primary, in two steps:
  // refuseNewClients() makes pg_hba.conf admit only replication and the local superuser and
  // waits for a refused connection of our own (the reload is asynchronous); sessions already
  // open keep working, so this part costs the writes nothing; it also ends every backend still
  // starting (one forked before the reload would admit its client by the old rules).
  // endClientSessions() then terminates every client session and waits until they are gone. From
  // then on no client can commit, so the flush position it returns covers every acknowledged
  // commit: the WAL a new leader must have before it promotes. openToClients() undoes both; the
  // next start writes the normal pg_hba.conf anyway.
  Result<void> refuseNewClients(Duration timeout);
  Result<Lsn> endClientSessions(Duration timeout);
  Result<void> openToClients();
  // pg_controldata's "Database cluster state": "in production" and "shut down" mean the data
  // directory was last a primary (a rejoin must rewind); "... recovery" a standby.
  Result<std::string> controlState();

  // libpq connection string to another member, credentials via the password file, TLS as
  // postgres.sslmode says (sslrootcert: postgres.tls.ca). Refuses a host that is not an IP
  // address or host name (it comes from etcd).
  Result<std::string> conninfoTo(const Upstream& to, bool replication) const;

 private:
  std::string localConninfo() const;
  // pg_hba.conf: the local lines, the operator's (postgres.pg_hba), then Rampart's own for
  // postgres.hba_networks (replication: hostssl with server TLS). `clients` false: closed to clients for a
  // switchover (only the local superuser and replication are admitted).
  Result<std::string> hbaText(bool clients) const;
  Result<void> stopWith(int signal, Duration timeout);
  Result<void> writeConfigFiles(bool standby, const std::optional<Upstream>& upstream,
                                const std::string& sync_names);
  Result<std::string> controlField(const std::string& name);
  Result<void> writeAutoConf();
  Result<void> reconfigure();
  Result<PgConn> connectLocal(Duration timeout);
  // Removes the lock files a dead server leaves behind (postmaster.pid, the socket's); only while
  // our server is not running.
  void removeStaleLockFiles();
  // Whether the postmaster `pid` has marked itself ready for connections in its lock file.
  bool postmasterSaysReady(pid_t pid) const;
  // The cached connection to the local server, (re)connected when needed.
  Result<PgConn*> local(Duration timeout);
  // One query on it; errors start with `what`, and a failed connection is dropped.
  Result<std::vector<PgConn::Row>> localQuery(const char* what, const std::string& sql,
                                              Duration timeout);
  // Runs `sql` on it every 2 ms until `done(first row)` holds, and returns that row. A failed
  // query is retried (the connection is re-made); at `deadline` the error names `what` and the
  // last failure. Bounded by `deadline`.
  Result<PgConn::Row> pollLocal(const char* what, const std::string& sql, TimePoint deadline,
                                const std::function<bool(const PgConn::Row&)>& done);
  // refuseNewClients()'s last step: SIGTERM to every backend still starting, until each exits.
  Result<void> endStartingBackends(TimePoint deadline);
  std::vector<std::string> asPostgresUser(std::vector<std::string> argv) const;
  std::string bin(const char* tool) const { return config_.bin_dir + "/" + tool; }

  MemberConfig config_;
  std::string run_dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::atomic<pid_t> pid_{0};
  std::atomic<pid_t> stop_requested_{0};  // the postmaster stop()/fence() last signalled
  std::unique_ptr<PgConn> cached_;        // reused by observe() between loops
  std::optional<Upstream> upstream_;      // what postgresql.auto.conf says now
  std::string sync_names_;
};

}  // namespace rampart::pg

#pragma once
// Server: one local redis-server as a member manager drives it, the Redis counterpart of
// pg::Postgres. It owns the member's directory (redis.conf, the append-only file, redis.log) and
// the redis-server child process, started with PR_SET_PDEATHSIG(SIGKILL) so it dies with its
// manager. The configuration is rendered by renderServerConfig() (pure) and rewritten before
// every start, so nothing a previous run left (CONFIG SET, CONFIG REWRITE) survives a restart.
//
// Roles. A member starts in exactly one of three ways, and only the leader starts writable:
//   startAsMaster()        — the leader (re)starting: a writable master;
//   startAsReplicaOf(ep)   — every other member, as soon as it knows the leader;
//   startFenced()          — a member that knows no leader yet (bootstrap, leader lost): a master
//                            that refuses every write until promote(), never a writable master
//                            that could take writes a new leader will never see.
// promote() makes it a writable master (REPLICAOF NO ONE, then the configured
// min-replicas-to-write); follow() re-points it; fence()/unfence() refuse and allow writes.
//
// Fencing. fence() sets min-replicas-to-write to kFencedMinReplicas, a number of replicas no
// group has, rather than CLIENT PAUSE WRITE, because:
//   - it is server state with no expiry: it holds for every client, including ones that connect
//     after the fence, until unfence(), promote() or a restart (and a restart renders the config
//     again, where a non-leader is a replica or fenced);
//   - a write is refused at once with -NOREPLICAS, so the client sees the error; CLIENT PAUSE
//     WRITE only delays writes, which then run when the pause ends or expires — on a master that
//     may have been superseded meanwhile;
//   - it needs min-replicas-max-lag > 0, which the rendered config always has (validated).
// A planned switchover can still pause clients first (CLIENT PAUSE WRITE keeps the offset still)
// and then fence; that is the engine's choice, through command().
//
// Cut-off masters. min-replicas-to-write (default 1) and min-replicas-max-lag (default 10 s) are
// always rendered: a master whose replicas stopped acknowledging for longer than the lag refuses
// writes (-NOREPLICAS), so a master cut off by a partition stops accepting writes within
// max-lag + 1 s (replicas acknowledge once a second; the master recounts its good replicas once a
// second). A single-member group needs min_replicas_to_write: 0.
//
// BLOCKING: every call blocks its caller, at most its timeout (on the Clock), so call from a
// worker thread, never an event loop. Not thread-safe: one thread at a time. The process is
// started by the calling thread and PR_SET_PDEATHSIG fires when that THREAD exits, so start it
// from a thread that lives as long as the server should (the manager's worker thread, or the
// main thread). The destructor stops the server (SIGTERM, then SIGKILL after a grace).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "redis/client.h"
#include "redis/reply.h"

namespace rampart::redis {

struct ServerConfig {
  std::string redis_server = "redis-server";  // the binary (looked up in PATH)
  std::string dir;                            // the member's data directory (made if missing)
  std::string bind = "127.0.0.1";             // the address clients and replicas reach it on
  uint16_t port = 6379;
  // Announced to the master instead of the connection's source address (replica-announce-ip);
  // empty: not set.
  std::string announce_ip;
  int min_replicas_to_write = 1;    // 0: a master accepts writes without any replica
  int min_replicas_max_lag_s = 10;  // seconds; at least 1
};

// The min-replicas-to-write that fence() sets: more replicas than any group has.
inline constexpr int kFencedMinReplicas = 1000000;

enum class StartRole { Master, Replica, Fenced };

// The redis.conf for `config` starting as `role` (Replica: of `master`, required then).
// InvalidArgument for values redis.conf cannot carry (quotes, newlines) or out of range.
Result<std::string> renderServerConfig(const ServerConfig& config, StartRole role,
                                       const std::optional<net::Endpoint>& master = std::nullopt);

// Where the server stands, from ROLE.
struct Position {
  bool master = false;
  // Master: master_repl_offset. Replica: the offset it processed; nullopt while it has no link
  // yet (ROLE reports -1).
  std::optional<int64_t> offset;
  std::optional<net::Endpoint> following;  // replica: its master
  bool link_up = false;                    // replica: the link to its master is connected
};

class Server {
 public:
  explicit Server(ServerConfig config, const Clock& clock = SteadyClock::instance());
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Renders redis.conf, spawns redis-server and waits until it answers PING (not -LOADING), at
  // most `timeout`. FailedPrecondition if it is already running; if it exits or does not answer
  // in time it is killed and the error carries the end of its log.
  Result<void> startAsMaster(Duration timeout);
  Result<void> startAsReplicaOf(const net::Endpoint& master, Duration timeout);
  Result<void> startFenced(Duration timeout);

  // SIGTERM (redis-server flushes the AOF), SIGKILL when it has not exited within `timeout`.
  Result<void> stop(Duration timeout);

  Result<void> promote(Duration timeout);                              // REPLICAOF NO ONE
  Result<void> follow(const net::Endpoint& master, Duration timeout);  // REPLICAOF host port
  Result<void> fence(Duration timeout);
  Result<void> unfence(Duration timeout);
  // CLIENT PAUSE <hold> WRITE: the clients' write commands wait (neither run nor refused) and the
  // replication offset stands still, until unpause() or `hold` has passed.
  Result<void> pauseWrites(Duration hold, Duration timeout);
  Result<void> unpause(Duration timeout);  // CLIENT UNPAUSE
  Result<Position> position(Duration timeout);
  // PING answered PONG within `timeout` (a server still loading its data is not alive).
  bool isAlive(Duration timeout);
  // Waits until this server's offset (ROLE) reaches `target`, polling; the offset reached, or
  // DeadlineExceeded naming the last offset seen.
  Result<int64_t> waitForOffset(int64_t target, Duration timeout);

  // Any other command, on the driver's connection; an error reply is a Reply.
  Result<Reply> command(const std::vector<std::string>& argv, Duration timeout);

  bool running();  // the child process is alive (reaps it if it exited)
  pid_t pid() const { return pid_; }
  net::Endpoint endpoint() const;
  std::string logFile() const { return config_.dir + "/redis.log"; }
  std::string configFile() const { return config_.dir + "/redis.conf"; }

 private:
  Result<void> start(StartRole role, const std::optional<net::Endpoint>& master, Duration timeout);
  Result<Reply> call(const std::vector<std::string>& argv, TimePoint deadline);
  Result<void> expectOk(const std::vector<std::string>& argv, TimePoint deadline);
  // Whether the server on the endpoint is process `pid` (INFO server's process_id).
  Result<bool> answersAs(pid_t pid, Duration timeout);
  Duration left(TimePoint deadline) const;

  ServerConfig config_;
  const Clock* clock_;
  pid_t pid_ = -1;
  std::optional<Client> client_;  // reconnected after a failure
};

}  // namespace rampart::redis

#pragma once
// RedisDatabase: Redis as a failover::Database (failover/database.h), over redis::Server. What
// the engine needs of a member's server, in Redis's terms:
//   promote   REPLICAOF NO ONE, then the configured min-replicas-to-write (writable)
//   follow    REPLICAOF host port; detach (no upstream): fence first (min-replicas-to-write set
//             to more replicas than any group has), then REPLICAOF NO ONE, so the server keeps
//             its data and offset, receives nothing more and takes no write: its offset is final
//   fence     the same refusal of writes (CONFIG SET), or SIGKILL when the server does not answer
//   position  the replication offset (ROLE)
//   rejoin    REPLICAOF the leader (a running server) or a start as its replica: Redis itself
//             resynchronises, partially or in full, and drops what the leader lacks
//   hold      CLIENT PAUSE WRITE (clients wait, the offset stands still); follow(), rejoin()
//             and promote() end the pause, and the held writes are then refused by a replica
//             (READONLY) or run on the new master
//   seal      the fence, once the target caught up: it outlives the pause, so a manager frozen
//             past the pause leaves a server that refuses writes, not one that takes them.
//             Not at the hold: Redis checks min-replicas-to-write before the pause, so a fenced
//             server refuses (NOREPLICAS) the writes a pause would have held
//   awaitReplica  ROLE asked of the replica itself every 2 ms: the offset it processed, which
//             the master learns only from its once-a-second REPLCONF ACK; a replica of another
//             master does not count
// A fenced or detached master counts as a replica in observe(): it follows no one and refuses
// writes, which is what the engine's tick means by "replica (or waits to: detached)".
//
// Never a writable master after another member led: the server starts writable only from
// bootstrap() (the cluster's first leader) and startPrimary() (the leader restarting its own
// server while it holds the key); every other start is a replica of the leader or fenced
// (startReplica), and only promote() — called by the engine after it took the key — makes it
// writable. min-replicas-to-write (default 1) and min-replicas-max-lag (default 10 s) are always
// rendered (server.h), so a master cut off from its replicas stops accepting writes.
//
// Blocking (redis-server start, commands), each call bounded by the timeouts below. Not
// thread-safe: the engine calls it one call at a time, from the thread that should own the
// redis-server process (PR_SET_PDEATHSIG fires when that thread exits; server.h). Owns its Server.

#include <optional>

#include "failover/database.h"
#include "redis/server.h"

namespace rampart::redis {

// What observe() saw, before it is told in the engine's terms (pure: stateFrom).
struct Observation {
  bool running = false;          // the child process is alive
  std::optional<Position> role;  // ROLE's answer; nullopt: it did not answer
  bool fenced = false;           // this member refused its writes (fence, detach, fenced start)
  std::optional<net::Endpoint> upstream;  // the master it was told to follow
  bool has_data = false;
};

failover::ServerState stateFrom(const Observation& o);

// Whether a running server whose last answer was at `unanswered_since` (nullopt: none seen
// yet) is killed now: frozen (SIGSTOP, a stuck disk, a runaway script) for longer than
// `limit`. A leader's engine only waits for an unreachable server (failover/tick.h), so without
// this a frozen master would hold the key, and its clients, for ever; killed, it is a crash the
// engine fails over at once. Sentinel's down-after-milliseconds plays this part for Sentinel.
bool killUnresponsive(std::optional<TimePoint> unanswered_since, TimePoint now, Duration limit);

// Whether the data directory holds a data set to start from (an AOF or an RDB file).
bool hasDataSet(const std::string& dir);

class RedisDatabase final : public failover::Database {
 public:
  // `unresponsive_timeout`: see killUnresponsive.
  explicit RedisDatabase(ServerConfig config,
                         Duration unresponsive_timeout = std::chrono::seconds(1),
                         const Clock& clock = SteadyClock::instance());

  Server& server() { return server_; }

  failover::ServerState observe() override;
  Result<void> bootstrap() override;
  Result<void> startPrimary() override;
  Result<void> startReplica(const std::optional<failover::Address>& upstream) override;
  Result<void> stop() override;
  Result<void> promote() override;
  Result<failover::Position> follow(const std::optional<failover::Address>& upstream) override;
  Result<void> rejoin(const failover::Address& leader, bool may_have_diverged) override;
  Result<void> serveReplicas(const std::vector<std::string>&) override { return ok(); }
  void fence() override;
  Result<failover::Position> holdWrites() override;
  Result<failover::Position> sealWrites() override;
  Result<void> resumeWrites() override;
  Result<void> awaitReplica(const failover::Address& replica, failover::Position position,
                            Duration timeout) override;

 private:
  ServerConfig config_;
  Duration unresponsive_timeout_;
  const Clock& clock_;
  void endHold();  // CLIENT UNPAUSE when held (a failure is logged: the pause expires)
  Result<failover::Position> masterOffset();  // ROLE: master_repl_offset (a master only)

  Server server_;
  std::optional<TimePoint> last_answer_;   // when the running server last answered ROLE
  bool fenced_ = false;                    // writes refused by this member's choice
  bool held_ = false;                      // the clients' writes wait (CLIENT PAUSE WRITE)
  std::optional<net::Endpoint> upstream_;  // the master it follows (REPLICAOF)
};

}  // namespace rampart::redis

#pragma once
// Database: what the failover engine (engine.h) needs from one member's database server, and
// all it knows about it. Each database implements it: PostgreSQL (promote = pg_promote, follow =
// primary_conninfo, fence = SIGKILL of the postmaster, position = the received/flushed LSN) and
// Redis (promote = REPLICAOF NO ONE, follow = REPLICAOF host port, fence = refuse writes,
// position = the replication offset).
//
// Contract: every call is bounded (it returns within the database's own timeouts, with an error
// when the server does not answer) and blocking; the engine calls them one at a time, in order,
// never two at once. fence() must not fail and must take effect at once: after it returns the
// server acknowledges no write (killed, or refusing writes) until start/promote is called again.
// Ownership: the engine holds a reference; the database outlives it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::failover {

// A replication position, comparable across the members of one cluster: the member with the
// greater position has received everything the one with the smaller has.
using Position = uint64_t;

// Where a member's server listens, as it publishes it in the store.
struct Address {
  std::string host;
  uint16_t port = 0;
  bool operator==(const Address&) const = default;
};

// The server as the database last saw it (observe()).
struct ServerState {
  bool running = false;      // the server process is alive
  bool reachable = false;    // it answered
  bool replica = false;      // it follows another server (or waits to: detached)
  bool replicating = false;  // it receives its upstream's current history
  Position position = 0;     // received (replica) or written (primary)
  bool has_data = false;     // there is a data set to start from
};

class Database {
 public:
  virtual ~Database() = default;

  // The server's state now; never fails (an unreachable server is reachable = false).
  virtual ServerState observe() = 0;
  // Creates a new data set and starts the server as the cluster's first primary.
  virtual Result<void> bootstrap() = 0;
  // Starts the server as a primary on its data set (a restart in place).
  virtual Result<void> startPrimary() = 0;
  // Starts the server as a replica of `upstream`, or detached (no upstream: it takes no writes
  // and follows no one, so its position is final).
  virtual Result<void> startReplica(const std::optional<Address>& upstream) = 0;
  virtual Result<void> stop() = 0;
  // Makes the running replica a writable primary.
  virtual Result<void> promote() = 0;
  // Re-points the running replica at `upstream`, or detaches it (nullopt). Returns its position
  // once it receives nothing more from the old upstream: the final position for a race.
  virtual Result<Position> follow(const std::optional<Address>& upstream) = 0;
  // Brings the server back as a replica of `leader` whatever it holds: the database decides
  // whether its history must be rewound or copied anew first (PostgreSQL: pg_rewind or
  // pg_basebackup; Redis: a full resynchronisation). `may_have_diverged`: it was a primary that
  // may hold writes the leader lacks.
  virtual Result<void> rejoin(const Address& leader, bool may_have_diverged) = 0;
  // As the leader, makes ready to serve these members as replicas (PostgreSQL: their
  // replication slots; Redis: nothing). Called when the set changes, and again after a failure.
  virtual Result<void> serveReplicas(const std::vector<std::string>& members) = 0;
  // Stops acknowledging writes at once (see the contract above).
  virtual void fence() = 0;

  // A planned switchover (switchover.h), on the leader. holdWrites() stops acknowledging writes
  // at once but holds the clients' writes where the database can rather than refusing them
  // (Redis: CLIENT PAUSE WRITE), and returns the position of the last write: final while the
  // hold lasts (a hold may end by itself after a while: Redis's pause has a limit). While held,
  // observe() reports the server as a replica: it takes no write.
  virtual Result<Position> holdWrites() = 0;
  // Makes the refusal outlive the hold (Redis: the fence, which stays until promote() or a
  // restart), and returns the position now: the handover goes ahead only if it is still the
  // held one. Called once the target has caught up, just before the key is handed over.
  virtual Result<Position> sealWrites() = 0;
  // The switchover was abandoned: writable again (unsealed); the held writes run. resumeWrites(),
  // promote(), follow() and rejoin() end the hold: the held writes then run on a primary or are
  // refused by a replica.
  virtual Result<void> resumeWrites() = 0;
  // Waits, at most `timeout`, until the server at `replica` has received `position`, asking it
  // (not this server's view of it, which may lag). DeadlineExceeded names what it last reported.
  virtual Result<void> awaitReplica(const Address& replica, Position position,
                                    Duration timeout) = 0;
};

}  // namespace rampart::failover

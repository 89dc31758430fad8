#pragma once
// Datastore: the database-specific half of a chaos run (chaos/scenario.h). The run itself (the
// writers' pacing, the faults, the health waits, the checker) is the same for every database;
// what differs is how a write is made and attributed to a tenure, who replicates from the
// primary, which process is the server, and which ids the final primary holds. Implementations:
// PostgreSQL (chaos/pg_datastore.cc) and Redis (chaos/redis_datastore.cc); datastoreFor() picks
// by the cluster file's kind.
//
// Every call is bounded by its deadline or timeout on the monotonic clock.
// Thread-safety: once prepared, a Datastore is immutable and is used from every writer's thread
// at once; a WriteSession belongs to one thread.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "chaos/checker.h"
#include "chaos/cluster.h"

namespace rampart::chaos {

struct WriteMode {
  // Ask the member whether it is the primary before each write, and write only then: a client
  // with stale routing (what makes a second writable primary visible).
  bool pinned = false;
  // Redis: confirm each write with WAIT 1 (acked only when a replica has it). PostgreSQL commits
  // are confirmed by the synchronous set already; it ignores this.
  bool durable = true;
};

// What one write came to. `server` and `epoch` only for Acked; see chaos/checker.h.
struct WriteOutcome {
  Outcome outcome = Outcome::Unknown;
  std::string server;
  std::string epoch;
  std::string warning;  // acked with a server warning (PostgreSQL: a cancelled sync-rep wait)
};

class WriteSession {
 public:
  virtual ~WriteSession() = default;
  // Whether the member takes writes as the primary now. An error leaves the session broken;
  // nothing was written.
  virtual Result<bool> isPrimary(TimePoint deadline) = 0;
  // Writes `id` (tagged with `writer`). Unknown leaves the session broken.
  virtual WriteOutcome write(int64_t id, const std::string& writer, TimePoint deadline) = 0;
  virtual bool broken() const = 0;
};

// A replica as the primary sees it, attached and receiving its stream.
struct Follower {
  std::string name;
  std::string sync_state;  // PostgreSQL's sync_state (async, potential, sync, quorum); Redis: ""
};

class Datastore {
 public:
  virtual ~Datastore() = default;

  // Whether an acknowledged write in `mode` is one the cluster promises to keep.
  virtual bool promises(const WriteMode& mode) const = 0;
  // Extra writers through the write VIP besides the durable one (Redis: a plain writer whose
  // losses are measured), as (name, mode).
  virtual std::vector<std::pair<std::string, WriteMode>> extraVipWriters() const = 0;

  // Makes what this run's writes need, through the write VIP (PostgreSQL: the table; Redis: a
  // check that a write can be attributed to a tenure), once, before any session is made; `run`
  // names the run (the ids' range). Bounded by `deadline` and `cancel`.
  virtual Result<void> prepare(int64_t run, TimePoint deadline,
                               const std::atomic<bool>* cancel) = 0;
  // A session to `host:port` (the write VIP, or a member's server).
  virtual Result<std::unique_ptr<WriteSession>> connect(const std::string& host, int port,
                                                        const WriteMode& mode,
                                                        TimePoint deadline) const = 0;
  // The members attached to `primary` and receiving its stream, asked on the primary itself.
  virtual Result<std::vector<Follower>> followersOf(const Member& primary,
                                                    Duration timeout) const = 0;
  // The member's server process, checked to be alive and to be the database's (a stale PID file
  // may name a recycled PID); `what` names it in errors.
  virtual Result<pid_t> serverPid(const Member& m, Duration timeout) const = 0;
  virtual std::string serverWhat() const = 0;     // "postmaster", "redis-server"
  virtual std::string serverCommand() const = 0;  // its /proc/<pid>/comm
  // The ids in [first, last] the final primary holds.
  virtual Result<std::unordered_set<int64_t>> readIds(const Member& primary, int64_t first,
                                                      int64_t last, Duration timeout) const = 0;
};

// The datastore for the cluster's kind ("rampart" and "patroni": PostgreSQL; "rampart-redis").
std::unique_ptr<Datastore> datastoreFor(const Cluster& cluster);
std::unique_ptr<Datastore> makePgDatastore(const Cluster& cluster);
std::unique_ptr<Datastore> makeRedisDatastore(const Cluster& cluster);

// member name by server port, for attributing acks (every member is on loopback).
std::map<int, std::string> membersByPort(const Cluster& cluster);

}  // namespace rampart::chaos

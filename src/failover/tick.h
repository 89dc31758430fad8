#pragma once
// The HA tick of a database member, as a pure function: from what the member observed (its view
// of the leader key and the other members in the store, its own server, the operator's requests)
// to one action and the reason for it. Nothing here does I/O or reads a clock: every duration is
// measured by the caller on its monotonic clock and passed in, so each branch is unit-tested
// (tick_test.cc) and the member's loop only gathers the facts and carries the action out, as
// Patroni's run_cycle() returns its message and etcd's raft returns its Ready.
//
// Database-independent: "server" is the member's database process (a PostgreSQL postmaster, a
// redis-server), a "replica" is a server following another (PostgreSQL: in recovery; Redis: a
// REPLICAOF), and "replicating from the leader" means receiving its current history. The
// database-specific rules (who may win a race, which synchronous set a leader keeps) stay with
// the database (pg/decide.h); this decides only which of the member's procedures runs now.
//
// Thread safety: free functions over values.

#include <optional>
#include <string>

#include "base/clock.h"

namespace rampart::failover {

// A switchover request as the member reads it from the store.
struct SwitchoverFacts {
  std::string from;          // the leader it hands over from ("" any leader; forced: "")
  std::string to;            // the target ("" the leader's choice)
  bool force = false;        // a failover --to: no handover, the target takes the key
  bool handed_over = false;  // the old leader wrote the handover (its final position is set)
};

struct TickFacts {
  std::string me;

  // The member's loop and its view of the store.
  bool view_ready = false;   // the store was listed once and is being watched
  bool stopping = false;     // the member shuts down
  bool initialized = false;  // the cluster's initialize key exists
  bool paused = false;       // maintenance: no automatic action

  // The leader key.
  bool leader_present = false;
  std::string leader_name;
  bool leader_stale = false;  // not rewritten within leader_timeout (as seen by this member)

  // This member's leadership.
  bool leading = false;    // holds the key and heartbeats it
  bool demoting = false;   // a switchover of this leader is under way: not writable any more
  bool releasing = false;  // its release of the key is in flight
  bool replicas_can_take_over = false;  // some replica has everything this leader acknowledged

  // Its own server, as last observed.
  bool server_running = false;    // the process is alive
  bool server_reachable = false;  // it answered
  bool server_replica = false;    // it follows (or is ready to follow) another server
  bool has_data = false;          // it has a data directory to start from

  // Operator requests.
  bool restart_requested = false;
  bool reinit_requested = false;
  std::optional<SwitchoverFacts> switchover;

  // The switchover candidate's handover-ready write (see shouldAnnounceReady).
  bool ready_written_for_request = false;  // its last one was for the pending request
  Duration since_ready_written{};          // since that write was sent
  bool announcing = false;                 // a ready write is in flight

  // Following the leader.
  bool following_leader = false;   // the server is configured to replicate from the leader
  bool may_have_diverged = false;  // a former primary not yet compared with the leader's history
  bool replicating_from_leader = false;  // receiving the leader's current history
  Duration not_replicating_for{};        // since it last did (or was re-pointed)
  bool leader_serving = false;           // the leader publishes a running, writable server

  // The race.
  bool failsafe_promised = false;  // this member vouched for the leader (failsafe), still bound
  bool last_leader = false;        // the last leader, as the database's sync state names it
  std::optional<Duration> since_released_after_crash;  // this member released the key: its
                                                       // server died, a replica could take over
  bool race_detached = false;  // already detached and published its position for this race
};

enum class TickAction {
  Wait,               // nothing to do this tick (the reason says why)
  Bootstrap,          // race for the initialize key; the winner creates the cluster
  RestartAsPrimary,   // leader: an operator asked for a restart
  ReleaseAfterCrash,  // leader: the server died and a replica may take over: give the key up
  RestartInPlace,     // leader: the server died and no replica may take over
  PromoteHeld,        // leader key held while a replica: a handover, or a restarted manager
  Lead,               // leader: maintain the replicas (slots, synchronous set)
  Switchover,         // leader: as Lead, then hand over as requested
  Adopt,              // the key names this member while it does not lead: continue the term
  Fence,              // a writable server without the leader key: kill it
  Rejoin,             // follow the leader from scratch (stop, rewind or clone, start)
  RestartAsReplica,   // follower: an operator asked for a restart
  CheckDivergence,    // a former primary: compare its history with the leader's first
  Follow,             // re-point the replica at the leader
  KeepFollowing,      // replicating from the leader: all well
  RestartRejoin,      // re-pointed but not replicating for too long: stop, rejoin next tick
  StartForRace,       // no leader and the server is down: start it detached to race
  Race,               // no leader: detach, publish the final position, race for the key
};

struct TickDecision {
  TickAction action = TickAction::Wait;
  std::string reason;
  // Beside the action (no wait for it): write this candidate's handover-ready mark.
  bool announce_ready = false;
  // The leader heartbeats: any race this member was in is over.
  bool race_over = false;
};

// Refresh a candidate's handover-ready write this often while a switchover is pending.
inline constexpr Duration kReadyRefresh = std::chrono::milliseconds(150);
// How long a former leader that released the key after its server died waits for a replica to
// take over before it starts its own server for the race: crash recovery takes seconds, and a
// diverged server would only stop again to rewind.
inline constexpr Duration kTakeoverWait = std::chrono::seconds(2);
// A replica re-pointed at a running leader but not replicating for this long is restarted.
inline constexpr Duration kReplicationStartTimeout = std::chrono::seconds(5);

TickDecision decideTick(const TickFacts& facts);

// Whether the leader `me` starts the planned switchover `request` (a pending, unforced request
// that names it or no leader). Asked again after the leader's maintenance, which may wait.
bool switchoverIsMine(const std::string& me, const std::optional<SwitchoverFacts>& request);

// Whether a race must wait because an operator named another candidate (a finished handover
// does not count: it names the member that then led).
bool operatorChoseAnother(const std::string& me, const std::optional<SwitchoverFacts>& request);

// What the member knows the moment its leader's server exits.
struct ServerExitFacts {
  bool leading = false;
  bool demoting = false;    // a switchover stops the server on purpose
  bool restarting = false;  // an operator's restart stops it on purpose
  bool paused = false;
  bool replicas_can_take_over = false;
};

// Whether the leader releases its key at once when its server exits (instead of at the next
// tick): every millisecond counts while nobody takes writes.
bool releaseOnServerExit(const ServerExitFacts& facts);

const char* toString(TickAction action);

}  // namespace rampart::failover

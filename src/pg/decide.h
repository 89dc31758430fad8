#pragma once
// The pure decisions of the member manager: who may take over as leader, and which synchronous
// set the leader maintains. No I/O, so every rule is unit-tested; manager.cc only gathers the
// facts and carries the decisions out.
//
// Invariant: no acknowledged commit is lost in synchronous mode. It rests on three rules:
//  1. The leader acknowledges a commit only once `quorum` members of its synchronous_standby_names
//     list have flushed it (PostgreSQL's ANY k), and the `sync` key always names a superset of
//     that list with a quorum no larger (the leader publishes the key before widening the list
//     and narrows the key only after narrowing the list: syncTransition below).
//  2. A racing member first detaches from the old primary (primary_conninfo = '') and only then
//     publishes its final received position (race_lsn) for this race. A detached member flushes
//     nothing more from the old primary, so it can acknowledge nothing more.
//  3. A candidate takes over only if it has heard the final positions of at least
//     |members| - quorum + 1 members of the sync set and none of them is ahead of it.
// Every acknowledged commit is on >= quorum members of the set; the unheard are <= quorum - 1,
// so some heard member has it, and the candidate is at least as far as every heard member. And
// after the decision the old primary can no longer collect `quorum` acknowledgements: at least
// |members| - quorum + 1 of the set are detached.
// The `sync` key's leader may take its key back without a race ("the last leader"): it holds
// every commit it acknowledged, as long as no one led after it. So whoever starts to lead
// rewrites the key in the same transaction as the leader key: a race winner names itself with an
// empty set, and a switchover's handover names no leader (handoverSync below), since the target
// acknowledges commits on its own from its promotion on, before it publishes a set of its own.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "failover/vouch.h"
#include "pg/state.h"

namespace rampart::pg {

struct RaceFacts {
  std::string me;
  int64_t leader_rev = 0;  // the leader key revision this race replaces (0: the key is gone)
  bool synchronous_mode = true;
  SyncState sync;
  std::map<std::string, MemberStatus> members;  // as published, including mine
  Lsn last_leader_lsn = 0;                      // async mode: the old leader's last position
  int64_t maximum_lag_on_failover = 1 << 20;
};

enum class RaceVerdict {
  Take,        // race now: compare-and-swap the leader key
  Wait,        // not yet: too few positions heard, or another member is ahead
  Ineligible,  // this member may not become leader in this race
};

struct RaceDecision {
  RaceVerdict verdict = RaceVerdict::Wait;
  std::string reason;  // for logs and the failover event
};

RaceDecision decideRace(const RaceFacts& facts);

// The synchronous set the leader wants, from the replicas now streaming from it.
// Non-strict: the streaming replicas with quorum min(node_count, their number); none streaming
// gives the empty set (commits are acknowledged locally, and no one may be promoted
// automatically until a replica is back). Strict: all other members, quorum node_count: writes
// block rather than go unprotected.
SyncState desiredSync(const std::string& leader, std::vector<std::string> streaming,
                      std::vector<std::string> other_members, int node_count, bool strict);

// The key to publish while moving synchronous_standby_names from `from` to `to`: the union of
// both lists with the smaller quorum, valid for commits acknowledged under either. The leader
// publishes `to` itself only once every member of `to` has flushed the WAL position at which the
// new list took effect (then every earlier commit is on each of them too).
SyncState syncTransition(const SyncState& from, const SyncState& to);

// The key a switchover's handover publishes, in the transaction that gives the leader key to
// `target` (a member of `current`, which has received the old leader's last WAL before it
// promotes). No leader, so no member can take the key back as "the last leader": the old one
// lacks the target's commits, and the target lacks the old one's last WAL until it has
// received it. The old set plus the target with quorum 1 covers both what the old leader
// acknowledged (on >= 1 member of its set) and what the target acknowledges on its own
// (synchronous_standby_names = '' until it publishes its own set). An empty `current` promises
// nothing (quorum 0).
SyncState handoverSync(const SyncState& current, const std::string& target);

// What the HA loop knows when a tick starts, before it queries the local server.
struct ObservationFacts {
  std::string me;
  bool leading = false;
  std::optional<SwitchoverRequest> switchover;
  bool leader_present = false;
  bool leader_stale = false;  // no heartbeat from the leader within leader_timeout
  std::string leader_name;
  bool server_alive = false;  // the postmaster process exists
  bool last_reachable = false;
  bool last_in_recovery = false;
  Duration last_age{};  // since the last observation of the server
};

// The longest a tick may act on an older observation (see mayReuseObservation).
inline constexpr Duration kObservationReuseLimit = std::chrono::seconds(1);

// Whether a tick may skip querying the local server (10-90 ms on a loaded host) and act on its
// last observation. Only where a switchover's handover to this standby is due or has come: a
// tick caught in that query when the leader key arrives delays the promotion by the rest of it,
// in the middle of the write gap (measured 0-84 ms). That is:
//  - the handover has come: the leader key names this member and the request, with its
//    handover position, names it too (promotion itself fails on a server that is no standby);
//  - or it is due: a planned request that may name this member is pending while its leader
//    still holds the key and heartbeats (once the key goes, a race needs fresh positions).
// Either way the server was a reachable standby at the last look, its postmaster is still
// there, and that look is younger than kObservationReuseLimit.
bool mayReuseObservation(const ObservationFacts& facts);

// The failsafe's vouch is the engine's rule (failover/vouch.h), shared with `rampart redis`.
using failover::decideVouch;
using failover::VouchDecision;
using failover::VouchFacts;
using failover::VouchVerdict;

}  // namespace rampart::pg

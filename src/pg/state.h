#pragma once
// What the members of one PostgreSQL cluster publish in etcd, and how it is encoded. Pure data
// and JSON codecs, no I/O. Keys, under <prefix>/<cluster>/:
//   initialize         the member that won the bootstrap (created once, by compare-and-swap)
//   leader             the leader's name; the leader rewrites it every heartbeat_interval, and
//                      followers take it over by compare-and-swap on its mod_revision once they
//                      have seen no rewrite for leader_timeout (see manager.h for the invariant)
//   members/<name>     each member's status (JSON), under that member's lease
//   sync               the members that may be promoted (synchronous mode) and the quorum k
//   config             cluster-wide settings changed at run time ({"paused": true})
//   switchover         a pending planned switchover ({"from": "m1", "to": "m2"})
//   history            the last failovers and switchovers (JSON array), written by the new leader

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "failover/history.h"

namespace rampart::pg {

// A WAL position. PostgreSQL writes it as two hex halves: "16/B374D848".
using Lsn = uint64_t;
Result<Lsn> parseLsn(std::string_view text);
std::string formatLsn(Lsn lsn);

struct Keys {
  std::string prefix;  // <prefix>/<cluster>/
  std::string initialize() const { return prefix + "initialize"; }
  std::string leader() const { return prefix + "leader"; }
  std::string members() const { return prefix + "members/"; }
  std::string member(const std::string& name) const { return members() + name; }
  std::string sync() const { return prefix + "sync"; }
  std::string config() const { return prefix + "config"; }
  std::string switchover() const { return prefix + "switchover"; }
  // Written by a switchover's candidates before the handover (Manager::switchover says why).
  std::string handoversReady() const { return prefix + "handover_ready/"; }
  std::string handoverReady(const std::string& name) const { return handoversReady() + name; }
  std::string history() const { return prefix + "history"; }
};

struct MemberStatus {
  std::string name;
  std::string host;
  uint16_t port = 0;
  std::string rest;   // host:port of the REST API
  std::string role;   // primary | replica | stopped
  std::string state;  // running | streaming | starting | stopped | cloning | rewinding | fenced
  int timeline = 0;
  Lsn write_lsn = 0;     // primary: flushed WAL end
  Lsn receive_lsn = 0;   // replica: WAL received and flushed
  Lsn replay_lsn = 0;    // replica: WAL replayed
  std::string upstream;  // replica: the member it streams from
  bool nofailover = false;
  int priority = 1;
  // A leader race: after detaching from the old primary, the member's final received position
  // for the race that replaces leader revision `race_rev` (see decide.h).
  int64_t race_rev = -1;
  Lsn race_lsn = 0;

  bool operator==(const MemberStatus&) const = default;
};

std::string encode(const MemberStatus& s);
Result<MemberStatus> decodeMemberStatus(std::string_view json);

// The synchronous set: every commit the leader acknowledged is on at least `quorum` of
// `members` (PostgreSQL's synchronous_standby_names = ANY quorum (members)).
struct SyncState {
  std::string leader;
  std::vector<std::string> members;  // sorted
  int quorum = 0;
  bool operator==(const SyncState&) const = default;
};
std::string encode(const SyncState& s);
Result<SyncState> decodeSyncState(std::string_view json);
// "ANY 1 ("m2", "m3")", or "" when the set is empty or the quorum is 0.
std::string synchronousStandbyNames(const SyncState& s);

struct ClusterSettings {
  bool paused = false;
};
std::string encode(const ClusterSettings& s);
Result<ClusterSettings> decodeClusterSettings(std::string_view json);

struct SwitchoverRequest {
  std::string from;    // the leader when it was requested
  std::string to;      // empty: the best candidate
  bool force = false;  // failover: promote `to` even without a leader
  // Set by the old leader when it hands over: its WAL flush position once it was closed to
  // clients (Postgres::endClientSessions). The new leader promotes only once it has received that.
  Lsn handover_lsn = 0;
  // Set with handover_lsn: the revision of the target's handover-ready write that the old leader
  // had seen before it handed over (0: none seen; the target then confirms the key first).
  int64_t ready_revision = 0;
};
std::string encode(const SwitchoverRequest& s);
Result<SwitchoverRequest> decodeSwitchoverRequest(std::string_view json);

// One failover or switchover, as the new leader records it: the shape every database's history
// shares (failover/history.h).
using FailoverEvent = failover::FailoverEvent;
inline std::string encode(const FailoverEvent& e) { return failover::encodeEvent(e); }
inline Result<FailoverEvent> decodeFailoverEvent(std::string_view json) {
  return failover::decodeEvent(json);
}

}  // namespace rampart::pg

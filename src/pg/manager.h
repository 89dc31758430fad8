#pragma once
// The member manager (`rampart pg`): runs next to one PostgreSQL member, supervises its server,
// and takes part in the cluster's leadership through etcd. One event loop (the Daemon's) runs the
// leader heartbeat, the fencing watchdog, the etcd watch, the REST API and the HA loop; every
// blocking PostgreSQL operation runs on one worker thread, so a slow or frozen server can never
// delay a heartbeat or a fence.
//
// The leader key and the invariant "never two writable primaries":
//   The leader rewrites <cluster>/leader every heartbeat_interval with a compare-and-swap on the
//   key's mod_revision. Followers note, on their own monotonic clock, when they last saw the key
//   change; once it has not changed for leader_timeout they may take it over by a compare-and-swap
//   on the mod_revision they saw. The leader fences itself (SIGKILLs its server) at
//       send time of its last successful rewrite + leader_timeout - fence_margin,
//   which comes before any follower's takeover: that rewrite was applied after it was sent, and a
//   follower starts counting only when it sees it. The fencing watchdog checks every 10 ms, and the
//   REST API stops answering /primary at the deadline even before the kill. The server also dies
//   with its manager (PR_SET_PDEATHSIG), so a killed manager cannot leave a writable primary.
//   A planned switchover hands the key over by a write of the old leader's. Its target counts
//   its lease from the send time of its own handover-ready write, which the old leader names in
//   the handover and so saw applied before it: every follower sees the handover later still.
// The invariant "no acknowledged commit lost" is decide.h's.
//
// Failsafe: when etcd has not acknowledged a heartbeat for two heartbeat intervals, the leader asks
// every other member to vouch (POST /failsafe; each promises not to race for leader_timeout from
// its answer) and, if all do, moves its deadline to the round's start + leader_timeout -
// fence_margin. It keeps serving through an etcd outage that way; an unanswered round fences it.
// A member vouches only for the current leader, authenticated by the member credential, and
// only while it cannot reach etcd itself (decideVouch in decide.h), so a vouch never holds back
// a member that could take over.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "pg/config.h"
#include "pg/state.h"
#include "runtime/daemon.h"

namespace rampart::pg {

// What the REST API answers from: a consistent copy of the manager's view.
struct MemberView {
  MemberStatus self;
  bool writable_leader = false;  // holds the key, promoted, before its fencing deadline
  bool promoting = false;        // a running standby about to be promoted (see view())
  bool draining = false;         // the writable leader of a switchover under way
  bool running = false;
  bool replica = false;    // a running standby
  Lsn leader_lsn = 0;      // the leader's last published position
  Duration since_loop{};   // time since the HA loop last completed
};

class Manager;

// Runs the manager on `daemon` until SIGTERM/SIGINT; returns the exit code.
int runMember(runtime::Daemon& daemon, MemberConfig config);

}  // namespace rampart::pg

#pragma once
// The pure rules of a PostgreSQL member's rejoin: whether a standby can follow a new leader by
// re-pointing it (rewind-or-follow), and which steps bring a stopped data directory back as a
// replica (clone, rewind, detached start). No I/O: postgres.cc and manager.cc read the control
// data, the timelines and the leader's history file, and carry the plan out.
//
// Why a former primary may not simply follow: its WAL may run past the point where the new
// leader's timeline forked off (a commit that reached no replica); streaming from the leader
// would then fail over and over ("diverged"), and pg_rewind must first undo that WAL. If its WAL
// ends at or before the fork, re-pointing it is enough and saves a stop, a rewind and a start.
//
// Thread safety: free functions over values.

#include <optional>
#include <string>

#include "base/result.h"
#include "pg/state.h"

namespace rampart::pg {

struct TimelineFacts {
  int my_timeline = 0;  // this standby's (pg_control_checkpoint())
  Lsn my_lsn = 0;       // its replay position
  int leader_timeline = 0;
  // The leader's <leader_timeline>.history file, read only when historyNeeded(): lines
  // "<parent timeline>\t<switch point>\t<reason>", the switch point being where the child
  // timeline left its parent.
  std::string leader_history;
};

enum class FollowVerdict {
  Follow,  // same history up to our position: re-point the standby at the leader
  Rewind,  // our WAL runs past the fork (or our timeline is not in the leader's history)
};

struct FollowDecision {
  FollowVerdict verdict = FollowVerdict::Rewind;
  std::string reason;
};

// Whether decideRewindOrFollow needs the leader's history file: only when the leader is on a
// later timeline than ours.
inline bool historyNeeded(int my_timeline, int leader_timeline) {
  return leader_timeline > my_timeline;
}

// Errors only on a history line for our timeline whose switch point does not parse.
Result<FollowDecision> decideRewindOrFollow(const TimelineFacts& facts);

// What a rejoin finds after stopping the server (manager.cc's rejoin).
struct RejoinFacts {
  bool reinit_requested = false;  // an operator asked for a fresh clone
  int failures = 0;               // rejoins that failed or did not stream since the last success
  bool may_have_diverged = false;  // a former primary, fenced or crashed: rewind straight away
  bool has_data = false;
  // pg_controldata's "Database cluster state" (nullopt: unreadable). "in production" or
  // "shut down": the data directory was last a primary.
  std::optional<std::string> control_state;
};

enum class RejoinPlan {
  Clone,          // pg_basebackup from the leader, then start as its replica
  Rewind,         // pg_rewind against the leader (a clone if that fails), then start
  DetachedStart,  // a former primary: start without an upstream, compare (rewind-or-follow) next
  Start,          // a standby's data directory: start it as the leader's replica
};

// Clone after two failures (a rewind that keeps failing will not succeed now) or without data;
// rewind a directory that may hold WAL the leader lacks, or after one failure; a former primary
// that is not known to have diverged is started detached and compared first, since its WAL
// usually ends exactly at the fork (synchronous replication).
RejoinPlan planRejoin(const RejoinFacts& facts);

const char* toString(RejoinPlan plan);

}  // namespace rampart::pg

#include "pg/rejoin.h"

#include <sstream>

namespace rampart::pg {

Result<FollowDecision> decideRewindOrFollow(const TimelineFacts& f) {
  if (f.leader_timeline == f.my_timeline) {
    return FollowDecision{FollowVerdict::Follow, "same timeline"};
  }
  if (f.leader_timeline < f.my_timeline) {
    return FollowDecision{FollowVerdict::Rewind, "the leader is on an older timeline"};
  }
  std::istringstream lines(f.leader_history);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    int parent = 0;
    std::string switch_point;
    if (!(fields >> parent >> switch_point) || parent != f.my_timeline) {
      continue;
    }
    auto fork = parseLsn(switch_point);
    if (!fork) {
      return fail(fork.error());
    }
    if (f.my_lsn > *fork) {
      return FollowDecision{FollowVerdict::Rewind,
                            "replayed to " + formatLsn(f.my_lsn) + ", past the fork at " +
                                formatLsn(*fork)};
    }
    return FollowDecision{FollowVerdict::Follow, "replayed to " + formatLsn(f.my_lsn) +
                                                     ", not past the fork at " + formatLsn(*fork)};
  }
  return FollowDecision{FollowVerdict::Rewind, "our timeline is not in the leader's history"};
}

RejoinPlan planRejoin(const RejoinFacts& f) {
  bool reinit = f.reinit_requested || f.failures >= 2;
  bool force_rewind = f.may_have_diverged || f.failures > 0;
  if (reinit || !f.has_data) {
    return RejoinPlan::Clone;
  }
  bool was_primary = f.control_state && (*f.control_state == "in production" ||
                                         *f.control_state == "shut down");
  if (was_primary && !force_rewind) {
    return RejoinPlan::DetachedStart;
  }
  return force_rewind ? RejoinPlan::Rewind : RejoinPlan::Start;
}

const char* toString(RejoinPlan plan) {
  switch (plan) {
    case RejoinPlan::Clone:
      return "clone";
    case RejoinPlan::Rewind:
      return "rewind";
    case RejoinPlan::DetachedStart:
      return "detached start";
    case RejoinPlan::Start:
      return "start";
  }
  return "?";
}

}  // namespace rampart::pg

#include "failover/tick.h"

namespace rampart::failover {
namespace {

TickDecision decide(TickAction action, std::string reason) {
  return TickDecision{action, std::move(reason), false, false};
}

std::string describeLeader(const TickFacts& f) {
  return f.leader_present ? f.leader_name : std::string("(none)");
}

TickDecision leaderTick(const TickFacts& f) {
  if (f.demoting) {
    return decide(TickAction::Wait, "handing over: the switchover owns the server");
  }
  if (f.restart_requested) {
    return decide(TickAction::RestartAsPrimary, "restart requested");
  }
  if (!f.server_running) {
    if (f.replicas_can_take_over && !f.paused) {
      return decide(TickAction::ReleaseAfterCrash, "server exited");
    }
    return decide(TickAction::RestartInPlace,
                  f.paused ? "server exited while paused: restarting it in place"
                           : "server exited and no replica may take over: restarting it in place");
  }
  if (!f.server_reachable) {
    return decide(TickAction::Wait, "server not reachable yet");
  }
  if (f.server_replica) {
    bool planned = f.switchover && f.switchover->to == f.me;
    return decide(TickAction::PromoteHeld,
                  planned ? "planned switchover" : "leader key held while in recovery");
  }
  if (switchoverIsMine(f.me, f.switchover)) {
    return decide(TickAction::Switchover, "switchover requested");
  }
  return decide(TickAction::Lead, "leading");
}

bool shouldAnnounceReady(const TickFacts& f) {
  const auto& s = f.switchover;
  return s && !s->force && !s->handed_over && (s->to.empty() || s->to == f.me) &&
         f.server_replica &&
         (!f.ready_written_for_request || f.since_ready_written >= kReadyRefresh) &&
         !f.announcing;
}

// The leader heartbeats: follow it.
TickDecision followLeader(const TickFacts& f) {
  if (f.reinit_requested) {
    return decide(TickAction::Rejoin, "reinitialize requested");
  }
  if (!f.server_running) {
    return decide(TickAction::Rejoin, "server stopped: rejoining " + f.leader_name);
  }
  if (!f.server_reachable) {
    return decide(TickAction::Wait, "server not reachable yet");
  }
  if (f.restart_requested) {
    return decide(TickAction::RestartAsReplica, "restart requested");
  }
  if (!f.following_leader && f.may_have_diverged) {
    return decide(TickAction::CheckDivergence,
                  "a former primary: comparing its history with " + f.leader_name + "'s");
  }
  if (!f.following_leader) {
    return decide(TickAction::Follow, "streaming from " + f.leader_name);
  }
  if (f.replicating_from_leader) {
    return decide(TickAction::KeepFollowing, "streaming from " + f.leader_name);
  }
  if (f.not_replicating_for > kReplicationStartTimeout && f.leader_serving) {
    return decide(TickAction::RestartRejoin,
                  "not streaming from " + f.leader_name + " for 5 s: restarting the rejoin");
  }
  return decide(TickAction::Wait, "not streaming from " + f.leader_name + " yet");
}

// No leader, or its heartbeat stopped.
TickDecision noLeader(const TickFacts& f) {
  if (f.failsafe_promised) {
    return decide(TickAction::Wait, "vouched for the leader (failsafe): no race");
  }
  if (!f.server_running) {
    if (!f.has_data) {
      return decide(TickAction::Wait, "no data: waiting for a leader to clone from");
    }
    if (f.last_leader && f.since_released_after_crash &&
        *f.since_released_after_crash < kTakeoverWait) {
      return decide(TickAction::Wait, "a replica is taking over; rewinding against it afterwards");
    }
    return decide(TickAction::StartForRace, "leader gone: starting the server for the race");
  }
  if (!f.race_detached && !(f.server_reachable && f.server_replica)) {
    return decide(TickAction::Wait, "leader gone, but the server is no reachable replica");
  }
  return decide(TickAction::Race, f.leader_present ? "no heartbeat from " + f.leader_name
                                                   : std::string("leader key released"));
}

TickDecision followerTick(const TickFacts& f) {
  if (f.leader_present && f.leader_name == f.me) {
    if (f.releasing) {
      return decide(TickAction::Wait, "own release of the leader key in flight");
    }
    if (f.paused && !f.server_running) {
      return decide(TickAction::Wait, "paused with the server stopped: not adopting the key");
    }
    return decide(TickAction::Adopt, "the leader key names this member");
  }
  if (f.server_running && f.server_reachable && !f.server_replica) {
    return decide(TickAction::Fence,
                  "running as a writable primary without the leader key (leader: " +
                      describeLeader(f) + ")");
  }
  bool announce = shouldAnnounceReady(f);
  TickDecision d;
  if (f.paused) {
    d = decide(TickAction::Wait, "paused");
  } else if (f.leader_present && !f.leader_stale) {
    d = followLeader(f);
    d.race_over = true;
  } else {
    d = noLeader(f);
  }
  d.announce_ready = announce;
  return d;
}

}  // namespace

TickDecision decideTick(const TickFacts& f) {
  if (f.stopping) {
    return decide(TickAction::Wait, "stopping");
  }
  if (!f.view_ready) {
    return decide(TickAction::Wait, "no view of the store yet");
  }
  if (!f.initialized) {
    return decide(TickAction::Bootstrap, "cluster not initialized");
  }
  return f.leading ? leaderTick(f) : followerTick(f);
}

bool switchoverIsMine(const std::string& me, const std::optional<SwitchoverFacts>& request) {
  return request && !request->force && !request->handed_over &&
         (request->from.empty() || request->from == me);
}

bool operatorChoseAnother(const std::string& me, const std::optional<SwitchoverFacts>& request) {
  return request && !request->handed_over && !request->to.empty() && request->to != me;
}

bool releaseOnServerExit(const ServerExitFacts& f) {
  return f.leading && !f.demoting && !f.restarting && !f.paused && f.replicas_can_take_over;
}

const char* toString(TickAction action) {
  switch (action) {
    case TickAction::Wait:
      return "wait";
    case TickAction::Bootstrap:
      return "bootstrap";
    case TickAction::RestartAsPrimary:
      return "restart-as-primary";
    case TickAction::ReleaseAfterCrash:
      return "release-after-crash";
    case TickAction::RestartInPlace:
      return "restart-in-place";
    case TickAction::PromoteHeld:
      return "promote-held";
    case TickAction::Lead:
      return "lead";
    case TickAction::Switchover:
      return "switchover";
    case TickAction::Adopt:
      return "adopt";
    case TickAction::Fence:
      return "fence";
    case TickAction::Rejoin:
      return "rejoin";
    case TickAction::RestartAsReplica:
      return "restart-as-replica";
    case TickAction::CheckDivergence:
      return "check-divergence";
    case TickAction::Follow:
      return "follow";
    case TickAction::KeepFollowing:
      return "keep-following";
    case TickAction::RestartRejoin:
      return "restart-rejoin";
    case TickAction::StartForRace:
      return "start-for-race";
    case TickAction::Race:
      return "race";
  }
  return "?";
}

}  // namespace rampart::failover

#include "failover/tick.h"

#include <gtest/gtest.h>

namespace rampart::failover {
namespace {

using namespace std::chrono_literals;

// A member of an initialized cluster whose view of the store is ready.
TickFacts member(const std::string& me = "m2") {
  TickFacts f;
  f.me = me;
  f.view_ready = true;
  f.initialized = true;
  f.has_data = true;
  return f;
}

// The leader m1, its server a healthy writable primary.
TickFacts healthyLeader() {
  auto f = member("m1");
  f.leading = true;
  f.leader_present = true;
  f.leader_name = "m1";
  f.server_running = true;
  f.server_reachable = true;
  f.replicas_can_take_over = true;
  return f;
}

// The replica m2 following the healthy leader m1.
TickFacts healthyReplica() {
  auto f = member("m2");
  f.leader_present = true;
  f.leader_name = "m1";
  f.server_running = true;
  f.server_reachable = true;
  f.server_replica = true;
  f.following_leader = true;
  f.replicating_from_leader = true;
  f.leader_serving = true;
  return f;
}

// m2 after the leader m1's heartbeat stopped.
TickFacts leaderGone() {
  auto f = healthyReplica();
  f.leader_stale = true;
  f.replicating_from_leader = false;
  return f;
}

SwitchoverFacts request(std::string from, std::string to) {
  return SwitchoverFacts{std::move(from), std::move(to), false, false};
}

// ---- the loop's preconditions ----

TEST(DecideTick, AStoppingMemberDoesNothing) {
  auto f = healthyLeader();
  f.stopping = true;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
  EXPECT_EQ(decideTick(f).reason, "stopping");
}

TEST(DecideTick, NothingHappensBeforeTheStoreIsListed) {
  auto f = healthyReplica();
  f.view_ready = false;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
}

TEST(DecideTick, AnUninitializedClusterIsBootstrapped) {
  auto f = member();
  f.initialized = false;
  EXPECT_EQ(decideTick(f).action, TickAction::Bootstrap);
}

// ---- the leader ----

TEST(DecideTick, AHealthyLeaderMaintainsItsReplicas) {
  auto d = decideTick(healthyLeader());
  EXPECT_EQ(d.action, TickAction::Lead);
  EXPECT_FALSE(d.announce_ready);
}

TEST(DecideTick, ALeaderHandingOverLeavesTheServerToTheSwitchover) {
  auto f = healthyLeader();
  f.demoting = true;
  f.server_running = false;  // the switchover stops it: no crash handling
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
}

TEST(DecideTick, ARequestedRestartOfTheLeaderRestartsItAsPrimary) {
  auto f = healthyLeader();
  f.restart_requested = true;
  EXPECT_EQ(decideTick(f).action, TickAction::RestartAsPrimary);
}

TEST(DecideTick, TheLeadersServerDiedWithAReplicaToTakeOverReleasesTheKey) {
  auto f = healthyLeader();
  f.server_running = false;
  auto d = decideTick(f);
  EXPECT_EQ(d.action, TickAction::ReleaseAfterCrash);
  EXPECT_EQ(d.reason, "server exited");
}

TEST(DecideTick, TheLeadersServerDiedWithNoReplicaToTakeOverRestartsInPlace) {
  auto f = healthyLeader();
  f.server_running = false;
  f.replicas_can_take_over = false;
  EXPECT_EQ(decideTick(f).action, TickAction::RestartInPlace);
}

TEST(DecideTick, TheLeadersServerDiedWhilePausedRestartsInPlace) {
  auto f = healthyLeader();
  f.server_running = false;
  f.paused = true;
  EXPECT_EQ(decideTick(f).action, TickAction::RestartInPlace);
}

TEST(DecideTick, ALeaderWaitsForItsStartingServer) {
  auto f = healthyLeader();
  f.server_reachable = false;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
}

TEST(DecideTick, TheTargetOfAHandoverPromotesAsAPlannedSwitchover) {
  auto f = healthyLeader();
  f.me = "m2";
  f.leader_name = "m2";
  f.server_replica = true;
  f.switchover = SwitchoverFacts{"m1", "m2", false, true};
  auto d = decideTick(f);
  EXPECT_EQ(d.action, TickAction::PromoteHeld);
  EXPECT_EQ(d.reason, "planned switchover");
}

TEST(DecideTick, ALeaderWhoseServerIsAReplicaPromotesIt) {
  auto f = healthyLeader();
  f.server_replica = true;
  auto d = decideTick(f);
  EXPECT_EQ(d.action, TickAction::PromoteHeld);
  EXPECT_EQ(d.reason, "leader key held while in recovery");
}

TEST(DecideTick, ALeaderStartsASwitchoverThatNamesIt) {
  auto f = healthyLeader();
  f.switchover = request("m1", "m2");
  EXPECT_EQ(decideTick(f).action, TickAction::Switchover);
}

TEST(DecideTick, ALeaderStartsASwitchoverThatNamesNoLeader) {
  auto f = healthyLeader();
  f.switchover = request("", "");
  EXPECT_EQ(decideTick(f).action, TickAction::Switchover);
}

TEST(DecideTick, ALeaderIgnoresASwitchoverOfAnotherLeaderAForcedOneOrAFinishedHandover) {
  auto f = healthyLeader();
  f.switchover = request("m3", "m2");
  EXPECT_EQ(decideTick(f).action, TickAction::Lead);
  f.switchover = SwitchoverFacts{"", "m2", true, false};
  EXPECT_EQ(decideTick(f).action, TickAction::Lead);
  f.switchover = SwitchoverFacts{"m1", "m2", false, true};
  EXPECT_EQ(decideTick(f).action, TickAction::Lead);
}

// ---- the key names this member, which does not lead ----

TEST(DecideTick, AKeyHandedToThisMemberIsAdopted) {
  auto f = healthyReplica();
  f.leader_name = "m2";
  f.switchover = SwitchoverFacts{"m1", "m2", false, true};
  EXPECT_EQ(decideTick(f).action, TickAction::Adopt);
}

TEST(DecideTick, TheKeyIsNotTakenBackWhileItsReleaseIsInFlight) {
  auto f = healthyReplica();
  f.leader_name = "m2";
  f.releasing = true;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
}

TEST(DecideTick, APausedMemberWithItsServerStoppedDoesNotAdoptTheKey) {
  auto f = healthyReplica();
  f.leader_name = "m2";
  f.paused = true;
  f.server_running = false;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
  f.server_running = true;
  EXPECT_EQ(decideTick(f).action, TickAction::Adopt);
}

// ---- split brain ----

TEST(DecideTick, AWritableServerWithoutTheKeyIsFenced) {
  auto f = healthyReplica();
  f.server_replica = false;
  auto d = decideTick(f);
  EXPECT_EQ(d.action, TickAction::Fence);
  EXPECT_EQ(d.reason, "running as a writable primary without the leader key (leader: m1)");
}

TEST(DecideTick, AWritableServerIsFencedEvenWhilePausedOrWithoutALeader) {
  auto f = healthyReplica();
  f.server_replica = false;
  f.paused = true;
  f.leader_present = false;
  auto d = decideTick(f);
  EXPECT_EQ(d.action, TickAction::Fence);
  EXPECT_EQ(d.reason, "running as a writable primary without the leader key (leader: (none))");
}

TEST(DecideTick, AnUnreachableServerIsNotFencedOnAnOldObservation) {
  auto f = healthyReplica();
  f.server_replica = false;
  f.server_reachable = false;
  EXPECT_NE(decideTick(f).action, TickAction::Fence);
}

// ---- following the leader ----

TEST(DecideTick, AReplicaStreamingFromTheLeaderKeepsFollowingAndEndsAnyRace) {
  auto d = decideTick(healthyReplica());
  EXPECT_EQ(d.action, TickAction::KeepFollowing);
  EXPECT_TRUE(d.race_over);
}

TEST(DecideTick, APausedReplicaTakesNoActionAndKeepsItsRace) {
  auto f = leaderGone();
  f.paused = true;
  auto d = decideTick(f);
  EXPECT_EQ(d.action, TickAction::Wait);
  EXPECT_EQ(d.reason, "paused");
  EXPECT_FALSE(d.race_over);
}

TEST(DecideTick, AStoppedReplicaRejoinsTheLeader) {
  auto f = healthyReplica();
  f.server_running = false;
  EXPECT_EQ(decideTick(f).action, TickAction::Rejoin);
}

TEST(DecideTick, ARequestedReinitializeRejoinsEvenARunningReplica) {
  auto f = healthyReplica();
  f.reinit_requested = true;
  EXPECT_EQ(decideTick(f).action, TickAction::Rejoin);
}

TEST(DecideTick, AReplicaWaitsForItsStartingServer) {
  auto f = healthyReplica();
  f.server_reachable = false;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
}

TEST(DecideTick, ARequestedRestartOfAReplicaRestartsItAsReplica) {
  auto f = healthyReplica();
  f.restart_requested = true;
  EXPECT_EQ(decideTick(f).action, TickAction::RestartAsReplica);
}

TEST(DecideTick, AFormerPrimaryIsComparedWithTheNewLeaderBeforeItFollows) {
  auto f = healthyReplica();
  f.following_leader = false;
  f.may_have_diverged = true;
  EXPECT_EQ(decideTick(f).action, TickAction::CheckDivergence);
  f.may_have_diverged = false;
  EXPECT_EQ(decideTick(f).action, TickAction::Follow);
}

TEST(DecideTick, AReplicaNotStreamingForFiveSecondsFromARunningLeaderRestartsItsRejoin) {
  auto f = healthyReplica();
  f.replicating_from_leader = false;
  f.not_replicating_for = 4900ms;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
  f.not_replicating_for = 5100ms;
  EXPECT_EQ(decideTick(f).action, TickAction::RestartRejoin);
  f.leader_serving = false;  // the leader is not up: nothing to stream from yet
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
}

// ---- switchover: the candidate's side ----

TEST(DecideTick, ASwitchoverCandidateAnnouncesItIsReadyBesideFollowing) {
  auto f = healthyReplica();
  f.switchover = request("m1", "m2");
  auto d = decideTick(f);
  EXPECT_EQ(d.action, TickAction::KeepFollowing);
  EXPECT_TRUE(d.announce_ready);
  f.switchover = request("m1", "");  // the leader's choice: any replica may be the one
  EXPECT_TRUE(decideTick(f).announce_ready);
}

TEST(DecideTick, TheReadyWriteIsRefreshedEveryReadyRefreshNotEveryTick) {
  auto f = healthyReplica();
  f.switchover = request("m1", "m2");
  f.ready_written_for_request = true;
  f.since_ready_written = kReadyRefresh - 1ms;
  EXPECT_FALSE(decideTick(f).announce_ready);
  f.since_ready_written = kReadyRefresh;
  EXPECT_TRUE(decideTick(f).announce_ready);
  f.announcing = true;  // one write at a time
  EXPECT_FALSE(decideTick(f).announce_ready);
}

TEST(DecideTick, NoReadyWriteForAnotherTargetAForcedRequestOrAFinishedHandover) {
  auto f = healthyReplica();
  f.switchover = request("m1", "m3");
  EXPECT_FALSE(decideTick(f).announce_ready);
  f.switchover = SwitchoverFacts{"", "m2", true, false};
  EXPECT_FALSE(decideTick(f).announce_ready);
  f.switchover = SwitchoverFacts{"m1", "m2", false, true};
  EXPECT_FALSE(decideTick(f).announce_ready);
  f.switchover = request("m1", "m2");
  f.server_replica = false;
  f.server_reachable = false;  // not known to be a replica: no promise to take over
  EXPECT_FALSE(decideTick(f).announce_ready);
}

TEST(DecideTick, APausedCandidateStillAnnouncesItIsReady) {
  auto f = healthyReplica();
  f.paused = true;
  f.switchover = request("m1", "m2");
  auto d = decideTick(f);
  EXPECT_EQ(d.action, TickAction::Wait);
  EXPECT_TRUE(d.announce_ready);
}

// ---- no leader: the race ----

TEST(DecideTick, AReplicaRacesWhenTheLeadersHeartbeatStops) {
  auto d = decideTick(leaderGone());
  EXPECT_EQ(d.action, TickAction::Race);
  EXPECT_EQ(d.reason, "no heartbeat from m1");
  EXPECT_FALSE(d.race_over);
}

TEST(DecideTick, AReplicaRacesWhenTheLeaderReleasedTheKey) {
  auto f = leaderGone();
  f.leader_present = false;
  f.leader_name.clear();
  auto d = decideTick(f);
  EXPECT_EQ(d.action, TickAction::Race);
  EXPECT_EQ(d.reason, "leader key released");
}

TEST(DecideTick, AMemberThatVouchedForTheLeaderDoesNotRace) {
  auto f = leaderGone();
  f.failsafe_promised = true;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
}

TEST(DecideTick, AStoppedMemberStartsItsServerToRace) {
  auto f = leaderGone();
  f.server_running = false;
  f.server_reachable = false;
  EXPECT_EQ(decideTick(f).action, TickAction::StartForRace);
}

TEST(DecideTick, AStoppedMemberWithoutDataWaitsForALeaderToCloneFrom) {
  auto f = leaderGone();
  f.server_running = false;
  f.has_data = false;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
}

TEST(DecideTick, AnOldLeaderThatReleasedAfterACrashLetsAReplicaTakeOverFirst) {
  auto f = leaderGone();
  f.leader_present = false;
  f.server_running = false;
  f.last_leader = true;
  f.since_released_after_crash = kTakeoverWait - 1ms;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
  f.since_released_after_crash = kTakeoverWait;
  EXPECT_EQ(decideTick(f).action, TickAction::StartForRace);
  f.since_released_after_crash.reset();
  EXPECT_EQ(decideTick(f).action, TickAction::StartForRace);
  f.since_released_after_crash = 1ms;
  f.last_leader = false;  // another member led after it: nothing to wait for
  EXPECT_EQ(decideTick(f).action, TickAction::StartForRace);
}

TEST(DecideTick, OnlyAReachableReplicaStartsARace) {
  auto f = leaderGone();
  f.server_reachable = false;
  EXPECT_EQ(decideTick(f).action, TickAction::Wait);
  f.race_detached = true;  // detached already: the race goes on, on its published position
  EXPECT_EQ(decideTick(f).action, TickAction::Race);
}

TEST(DecideTick, TheLastLeaderHoldingNoKeyRacesLikeAnyReplica) {
  auto f = leaderGone();
  f.leader_present = false;
  f.last_leader = true;
  EXPECT_EQ(decideTick(f).action, TickAction::Race);
}

// ---- helpers the member asks again mid-tick ----

TEST(SwitchoverIsMine, PendingUnforcedRequestsNamingThisLeaderOrNone) {
  EXPECT_FALSE(switchoverIsMine("m1", std::nullopt));
  EXPECT_TRUE(switchoverIsMine("m1", request("m1", "m2")));
  EXPECT_TRUE(switchoverIsMine("m1", request("", "")));
  EXPECT_FALSE(switchoverIsMine("m1", request("m3", "")));
  EXPECT_FALSE(switchoverIsMine("m1", SwitchoverFacts{"", "m2", true, false}));
  EXPECT_FALSE(switchoverIsMine("m1", SwitchoverFacts{"m1", "m2", false, true}));
}

TEST(OperatorChoseAnother, OnlyAPendingRequestNamingAnotherTargetHoldsARaceBack) {
  EXPECT_FALSE(operatorChoseAnother("m2", std::nullopt));
  EXPECT_TRUE(operatorChoseAnother("m2", request("m1", "m3")));
  EXPECT_TRUE(operatorChoseAnother("m2", SwitchoverFacts{"", "m3", true, false}));
  EXPECT_FALSE(operatorChoseAnother("m2", request("m1", "m2")));
  EXPECT_FALSE(operatorChoseAnother("m2", request("m1", "")));
  EXPECT_FALSE(operatorChoseAnother("m2", SwitchoverFacts{"m1", "m3", false, true}));
}

TEST(ReleaseOnServerExit, OnlyALeaderWhoseServerDiedUnplannedWithAReplicaToTakeOver) {
  ServerExitFacts f{true, false, false, false, true};
  EXPECT_TRUE(releaseOnServerExit(f));
  auto g = f;
  g.leading = false;
  EXPECT_FALSE(releaseOnServerExit(g));
  g = f;
  g.demoting = true;
  EXPECT_FALSE(releaseOnServerExit(g));
  g = f;
  g.restarting = true;
  EXPECT_FALSE(releaseOnServerExit(g));
  g = f;
  g.paused = true;
  EXPECT_FALSE(releaseOnServerExit(g));
  g = f;
  g.replicas_can_take_over = false;
  EXPECT_FALSE(releaseOnServerExit(g));
}

TEST(TickAction, EveryActionHasAName) {
  for (int a = 0; a <= static_cast<int>(TickAction::Race); ++a) {
    EXPECT_STRNE(toString(static_cast<TickAction>(a)), "?");
  }
}

}  // namespace
}  // namespace rampart::failover

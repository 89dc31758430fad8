#include "pg/decide.h"

#include <gtest/gtest.h>

namespace rampart::pg {
namespace {

MemberStatus replica(const std::string& name, Lsn race_lsn, int64_t race_rev = 7) {
  MemberStatus m;
  m.name = name;
  m.role = "replica";
  m.state = "running";
  m.race_rev = race_rev;
  m.race_lsn = race_lsn;
  return m;
}

RaceFacts facts(const std::string& me, std::vector<MemberStatus> members,
                std::vector<std::string> sync_set, int quorum) {
  RaceFacts f;
  f.me = me;
  f.leader_rev = 7;
  f.sync = SyncState{"m1", std::move(sync_set), quorum};
  for (auto& m : members) {
    f.members[m.name] = m;
  }
  return f;
}

TEST(DecideRace, FurthestMemberOfTheSyncSetTakesOver) {
  auto f = facts("m2", {replica("m2", 200), replica("m3", 100)}, {"m2", "m3"}, 1);
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Take);
  f.me = "m3";
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Wait);
}

TEST(DecideRace, WaitsUntilEnoughFinalPositionsAreHeard) {
  // ANY 1 of two: an acknowledged commit may be on m3 alone, so m2 must hear m3 first.
  auto f = facts("m2", {replica("m2", 200), replica("m3", 300, /*race_rev=*/3)}, {"m2", "m3"}, 1);
  auto d = decideRace(f);
  EXPECT_EQ(d.verdict, RaceVerdict::Wait);
  EXPECT_NE(d.reason.find("heard 1 of the 2"), std::string::npos) << d.reason;
  f.members.erase("m3");
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Wait);
}

TEST(DecideRace, QuorumOfAllNeedsOnlyItself) {
  // ANY 2 of two: every acknowledged commit is on both.
  auto f = facts("m2", {replica("m2", 200)}, {"m2", "m3"}, 2);
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Take);
}

TEST(DecideRace, MemberOutsideTheSyncSetIsIneligible) {
  auto f = facts("m3", {replica("m2", 100), replica("m3", 500)}, {"m2"}, 1);
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Ineligible);
}

TEST(DecideRace, EmptySyncSetMeansNoAutomaticFailover) {
  auto f = facts("m2", {replica("m2", 100)}, {}, 0);
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Ineligible);
}

TEST(DecideRace, NofailoverTagExcludesButItsPositionStillCounts) {
  auto f = facts("m2", {replica("m2", 100), replica("m3", 300)}, {"m2", "m3"}, 1);
  f.members["m3"].nofailover = true;
  // m3 may not win, and m2 may not win either: m3 might hold a commit m2 lacks.
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Wait);
  f.me = "m3";
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Ineligible);
}

TEST(DecideRace, TiesGoToHigherPriorityThenSmallerName) {
  auto f = facts("m3", {replica("m2", 100), replica("m3", 100)}, {"m2", "m3"}, 1);
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Wait);
  f.members["m3"].priority = 5;
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Take);
}

TEST(DecideRace, StalePositionFromAnEarlierRaceIsNotCounted) {
  auto f = facts("m2", {replica("m2", 100, 7), replica("m3", 900, 5)}, {"m2", "m3"}, 1);
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Wait);
}

TEST(DecideRace, AsynchronousModeBoundsTheLag) {
  auto f = facts("m2", {replica("m2", 100)}, {}, 0);
  f.synchronous_mode = false;
  f.last_leader_lsn = 100 + 2048;
  f.maximum_lag_on_failover = 1024;
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Ineligible);
  f.maximum_lag_on_failover = 4096;
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Take);
}

TEST(DecideRace, TheLastLeaderMayTakeBackItsOwnKey) {
  // After a full stop: the last leader holds every commit it acknowledged.
  auto f = facts("m1", {replica("m1", 50, -1), replica("m2", 100)}, {"m2"}, 1);
  f.sync.leader = "m1";
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Take);
}

TEST(DesiredSync, NonStrictFollowsStreamingReplicas) {
  auto s = desiredSync("m1", {"m3", "m2"}, {"m2", "m3"}, 1, false);
  EXPECT_EQ(s.members, (std::vector<std::string>{"m2", "m3"}));
  EXPECT_EQ(s.quorum, 1);
  EXPECT_EQ(synchronousStandbyNames(s), "ANY 1 (\"m2\", \"m3\")");
  auto none = desiredSync("m1", {}, {"m2", "m3"}, 1, false);
  EXPECT_EQ(none.quorum, 0);
  EXPECT_EQ(synchronousStandbyNames(none), "");
}

TEST(DesiredSync, AMemberWithTwoWalSendersCountsOnce) {
  auto s = desiredSync("m1", {"m2", "m2"}, {"m2", "m3"}, 2, false);
  EXPECT_EQ(s.members, (std::vector<std::string>{"m2"}));
  EXPECT_EQ(s.quorum, 1) << "a quorum of 2 would wait for a second standby that is not there";
  EXPECT_EQ(synchronousStandbyNames(s), "ANY 1 (\"m2\")");
}

TEST(DesiredSync, StrictKeepsEveryMemberListed) {
  auto s = desiredSync("m1", {}, {"m3", "m2"}, 1, true);
  EXPECT_EQ(s.members, (std::vector<std::string>{"m2", "m3"}));
  EXPECT_EQ(s.quorum, 1);
}

TEST(SyncTransition, UnionWithSmallerQuorum) {
  SyncState from{"m1", {"m2", "m3"}, 2};
  SyncState to{"m1", {"m2"}, 1};
  auto t = syncTransition(from, to);
  EXPECT_EQ(t.members, (std::vector<std::string>{"m2", "m3"}));
  EXPECT_EQ(t.quorum, 1);
}

TEST(SyncTransition, FromAsynchronousPromisesNothing) {
  SyncState from{"m1", {}, 0};
  SyncState to{"m1", {"m2"}, 1};
  auto t = syncTransition(from, to);
  EXPECT_EQ(t.members, (std::vector<std::string>{"m2"}));
  EXPECT_EQ(t.quorum, 0);
}

TEST(HandoverSync, NamesNoLeaderAndKeepsTheOldSetWithTheTargetAtQuorumOne) {
  auto h = handoverSync(SyncState{"m1", {"m2", "m3", "m4"}, 2}, "m2");
  EXPECT_EQ(h.leader, "");
  EXPECT_EQ(h.members, (std::vector<std::string>{"m2", "m3", "m4"}));
  EXPECT_EQ(h.quorum, 1) << "the target acknowledges commits on its own after promotion";
  auto unpromised = handoverSync(SyncState{"m1", {}, 0}, "m2");
  EXPECT_EQ(unpromised.quorum, 0);
}

TEST(HandoverSync, NeitherTheOldLeaderNorTheTargetMayTakeTheKeyBackAlone) {
  // The target promoted and acknowledged commits on its own, then died: the old leader (the
  // sync key's leader before the handover) must not win as "the last leader" without them.
  auto h = handoverSync(SyncState{"m1", {"m2", "m3"}, 1}, "m2");
  RaceFacts f = facts("m1", {replica("m1", 300), replica("m3", 300)}, {}, 0);
  f.sync = h;
  EXPECT_NE(decideRace(f).verdict, RaceVerdict::Take) << decideRace(f).reason;
  // m3 must hear the target's position as well: only the target may hold its own commits.
  f.me = "m3";
  auto d = decideRace(f);
  EXPECT_EQ(d.verdict, RaceVerdict::Wait) << d.reason;
  f.members["m2"] = replica("m2", 400);
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Wait) << "m2 is further ahead";
  f.me = "m2";
  EXPECT_EQ(decideRace(f).verdict, RaceVerdict::Take);
}

// m2, a standby, while m1 leads and a planned switchover to m2 is pending.
ObservationFacts awaitingHandover() {
  ObservationFacts f;
  f.me = "m2";
  f.switchover = SwitchoverRequest{"m1", "m2", false, 0, 0};
  f.leader_present = true;
  f.leader_name = "m1";
  f.server_alive = true;
  f.last_reachable = true;
  f.last_in_recovery = true;
  f.last_age = std::chrono::milliseconds(100);
  return f;
}

TEST(MayReuseObservation, AStandbyAwaitingOrGivenAHandoverActsOnItsLastLook) {
  auto f = awaitingHandover();
  EXPECT_TRUE(mayReuseObservation(f));
  f.switchover->to = "";
  EXPECT_TRUE(mayReuseObservation(f)) << "without --to any standby may be the target";
  f.switchover->to = "m2";
  f.switchover->handover_lsn = 0x3000000;
  f.leader_name = "m2";
  EXPECT_TRUE(mayReuseObservation(f)) << "the handover came: promote without a new query";
}

TEST(MayReuseObservation, WithoutAPendingPlannedSwitchoverEveryTickLooks) {
  auto f = awaitingHandover();
  f.switchover.reset();
  EXPECT_FALSE(mayReuseObservation(f));
  f = awaitingHandover();
  f.switchover->force = true;
  EXPECT_FALSE(mayReuseObservation(f)) << "a forced failover races on fresh positions";
  f = awaitingHandover();
  f.switchover->to = "m3";
  EXPECT_FALSE(mayReuseObservation(f)) << "another member is the target";
  f = awaitingHandover();
  f.switchover->handover_lsn = 0x3000000;
  f.switchover->to = "m3";
  f.leader_name = "m3";
  EXPECT_FALSE(mayReuseObservation(f)) << "handed over to someone else: follow it";
}

TEST(MayReuseObservation, ALeaderThatGoesOrChangesMeansARaceOnFreshPositions) {
  auto f = awaitingHandover();
  f.leader_stale = true;
  EXPECT_FALSE(mayReuseObservation(f));
  f = awaitingHandover();
  f.leader_present = false;
  EXPECT_FALSE(mayReuseObservation(f));
  f = awaitingHandover();
  f.leader_name = "m3";
  EXPECT_FALSE(mayReuseObservation(f)) << "not the leader the request was made under";
  f = awaitingHandover();
  f.leading = true;
  EXPECT_FALSE(mayReuseObservation(f));
}

TEST(MayReuseObservation, ADeadOrUnknownOrOldObservationIsNotReused) {
  auto f = awaitingHandover();
  f.server_alive = false;
  EXPECT_FALSE(mayReuseObservation(f)) << "the postmaster exited since";
  f = awaitingHandover();
  f.last_reachable = false;
  EXPECT_FALSE(mayReuseObservation(f));
  f = awaitingHandover();
  f.last_in_recovery = false;
  EXPECT_FALSE(mayReuseObservation(f)) << "a writable server without the key must be fenced";
  f = awaitingHandover();
  f.last_age = kObservationReuseLimit;
  EXPECT_FALSE(mayReuseObservation(f)) << "a stalled switchover still looks once a second";
}

}  // namespace
}  // namespace rampart::pg

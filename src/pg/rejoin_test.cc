#include "pg/rejoin.h"

#include <gtest/gtest.h>

namespace rampart::pg {
namespace {

// The leader promoted at 0/5000028 from timeline 1 to 2, then (a later failover) from 2 to 3.
const char* kHistory3 =
    "1\t0/5000028\tno recovery target specified\n"
    "\n"
    "2\t0/7000100\tno recovery target specified\n";

TimelineFacts facts(int mine, Lsn my_lsn, int leader, std::string history = "") {
  return TimelineFacts{mine, my_lsn, leader, std::move(history)};
}

TEST(RewindOrFollow, AStandbyOnTheLeadersTimelineFollowsWithoutItsHistory) {
  EXPECT_FALSE(historyNeeded(2, 2));
  auto d = decideRewindOrFollow(facts(2, 0x9000000, 2));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, FollowVerdict::Follow);
}

TEST(RewindOrFollow, AStandbyAheadOfTheLeadersTimelineRewinds) {
  EXPECT_FALSE(historyNeeded(3, 2));
  auto d = decideRewindOrFollow(facts(3, 0x1000000, 2));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, FollowVerdict::Rewind);
}

TEST(RewindOrFollow, AFormerPrimaryWhoseWalEndsAtTheForkFollows) {
  EXPECT_TRUE(historyNeeded(2, 3));
  auto d = decideRewindOrFollow(facts(2, 0x7000100, 3, kHistory3));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, FollowVerdict::Follow);
  d = decideRewindOrFollow(facts(2, 0x7000000, 3, kHistory3));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, FollowVerdict::Follow);
}

TEST(RewindOrFollow, AFormerPrimaryWithWalPastTheForkRewinds) {
  auto d = decideRewindOrFollow(facts(2, 0x7000101, 3, kHistory3));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, FollowVerdict::Rewind);
  EXPECT_EQ(d->reason, "replayed to 0/7000101, past the fork at 0/7000100");
}

TEST(RewindOrFollow, TheForkOfOurOwnTimelineCountsNotAnEarlierOne) {
  // Past timeline 1's fork (0/5000028) but not timeline 2's: timeline 2 is ours.
  auto d = decideRewindOrFollow(facts(2, 0x6000000, 3, kHistory3));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, FollowVerdict::Follow);
  d = decideRewindOrFollow(facts(1, 0x6000000, 3, kHistory3));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, FollowVerdict::Rewind);
}

TEST(RewindOrFollow, ATimelineMissingFromTheLeadersHistoryRewinds) {
  auto d = decideRewindOrFollow(facts(4, 0x1000000, 5, kHistory3));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, FollowVerdict::Rewind);
  d = decideRewindOrFollow(facts(2, 0x1000000, 3, ""));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, FollowVerdict::Rewind);
}

TEST(RewindOrFollow, AnUnreadableSwitchPointForOurTimelineIsAnError) {
  EXPECT_FALSE(decideRewindOrFollow(facts(2, 0x1000000, 3, "2\tnot-an-lsn\treason\n")));
  // Another timeline's broken line does not matter.
  EXPECT_TRUE(decideRewindOrFollow(facts(2, 0x1000000, 3, "1\tbad\tx\n2\t0/7000100\tx\n")));
}

RejoinFacts standby() {
  RejoinFacts f;
  f.has_data = true;
  f.control_state = "in archive recovery";
  return f;
}

TEST(PlanRejoin, AStandbysDataDirectoryIsStartedAsAReplica) {
  EXPECT_EQ(planRejoin(standby()), RejoinPlan::Start);
}

TEST(PlanRejoin, WithoutDataOrOnRequestTheLeaderIsCloned) {
  auto f = standby();
  f.has_data = false;
  EXPECT_EQ(planRejoin(f), RejoinPlan::Clone);
  f = standby();
  f.reinit_requested = true;
  EXPECT_EQ(planRejoin(f), RejoinPlan::Clone);
}

TEST(PlanRejoin, AFormerPrimaryNotKnownToHaveDivergedStartsDetachedToBeCompared) {
  auto f = standby();
  f.control_state = "in production";
  EXPECT_EQ(planRejoin(f), RejoinPlan::DetachedStart);
  f.control_state = "shut down";
  EXPECT_EQ(planRejoin(f), RejoinPlan::DetachedStart);
}

TEST(PlanRejoin, AFencedOrCrashedPrimaryRewindsStraightAway) {
  auto f = standby();
  f.control_state = "in production";
  f.may_have_diverged = true;
  EXPECT_EQ(planRejoin(f), RejoinPlan::Rewind);
  f.control_state = "in archive recovery";  // a detached start came up as a standby
  EXPECT_EQ(planRejoin(f), RejoinPlan::Rewind);
}

TEST(PlanRejoin, OneFailureRewindsTwoClone) {
  auto f = standby();
  f.failures = 1;
  EXPECT_EQ(planRejoin(f), RejoinPlan::Rewind);
  f.control_state = "in production";
  EXPECT_EQ(planRejoin(f), RejoinPlan::Rewind);
  f.failures = 2;
  EXPECT_EQ(planRejoin(f), RejoinPlan::Clone);
}

TEST(PlanRejoin, AnUnreadableControlFileIsTreatedAsAStandbys) {
  auto f = standby();
  f.control_state.reset();
  EXPECT_EQ(planRejoin(f), RejoinPlan::Start);
}

}  // namespace
}  // namespace rampart::pg

#include "redis/durability.h"

#include <gtest/gtest.h>

namespace rampart::redis {
namespace {

using failover::CandidateFacts;
using failover::MemberRecord;

MemberRecord heard(int64_t rev, failover::Position position, std::string role = "replica") {
  MemberRecord m;
  m.role = std::move(role);
  m.race_rev = rev;
  m.race_position = position;
  return m;
}

TEST(DurabilityRuleTest, AWait1WriteInThreeMembersNeedsBothReplicasHeard) {
  EXPECT_EQ(replicasToHear({3, 1}), 2);
  EXPECT_EQ(replicasToHear({5, 1}), 4);
  EXPECT_EQ(replicasToHear({5, 2}), 3);
  EXPECT_EQ(replicasToHear({1, 1}), 1);  // a lone member hears itself
}

// wait_replicas 0 promises nothing: a replica that heard only itself may take over. n - 0 = n
// would need more replicas than a group without its master has, so no failover would ever run.
TEST(DurabilityRuleTest, WithoutAWaitPromiseACandidateHearingOnlyItselfMayTakeOver) {
  EXPECT_EQ(replicasToHear({3, 0}), 1);
  EXPECT_EQ(replicasToHear({1, 0}), 1);
  CandidateFacts f;
  f.me = "m2";
  f.previous_leader = "m1";
  f.race_rev = 9;
  f.members = {
      {"m1", heard(-1, 0, "stopped")}, {"m2", heard(9, 100)}, {"m3", heard(-1, 0, "stopped")}};
  EXPECT_TRUE(decideRedisCandidate(f, {3, 0}).take);
  EXPECT_FALSE(decideRedisCandidate(f, {3, 1}).take);
}

// The write confirmed with WAIT 1 sits on m3 only (position 120); m2 has 100. m3's final
// position is not published yet: m2 must not win, or the write is lost.
TEST(DurabilityRuleTest, ACandidateDoesNotWinBeforeTheOtherReplicaPublishedEvenIfItStopped) {
  CandidateFacts f;
  f.me = "m2";
  f.previous_leader = "m1";
  f.race_rev = 9;
  f.members = {{"m1", heard(-1, 0, "stopped")},
               {"m2", heard(9, 100)},
               {"m3", heard(-1, 0, "stopped")}};  // the engine's own rule skips a stopped one
  EXPECT_TRUE(failover::decideCandidate(f).take);
  auto d = decideRedisCandidate(f, {3, 1});
  EXPECT_FALSE(d.take);
  EXPECT_NE(d.reason.find("heard 1 of the 2"), std::string::npos) << d.reason;
}

TEST(DurabilityRuleTest, TheOldMasterIsNotCountedAmongTheReplicasHeardEvenAfterItsKeyWent) {
  CandidateFacts f;
  f.me = "m2";
  f.old_leader = "";  // released: the key is gone
  f.previous_leader = "m1";
  f.race_rev = 0;
  f.members = {{"m1", heard(0, 10)}, {"m2", heard(0, 100)}};
  EXPECT_FALSE(decideRedisCandidate(f, {3, 1}).take);
}

TEST(DurabilityRuleTest, TheMostAdvancedOfBothReplicasWinsAndTheOtherWaits) {
  CandidateFacts f;
  f.previous_leader = "m1";
  f.race_rev = 9;
  f.members = {{"m1", heard(-1, 0, "stopped")}, {"m2", heard(9, 100)}, {"m3", heard(9, 120)}};
  f.me = "m3";
  EXPECT_TRUE(decideRedisCandidate(f, {3, 1}).take);
  f.me = "m2";
  auto d = decideRedisCandidate(f, {3, 1});
  EXPECT_FALSE(d.take);
  EXPECT_EQ(d.reason, "m3 is ahead");
}

TEST(DurabilityRuleTest, AHeardMemberWhoseServerStoppedSinceStillMayNotBeOvertaken) {
  CandidateFacts f;
  f.previous_leader = "m1";
  f.race_rev = 9;
  f.me = "m2";
  f.members = {{"m2", heard(9, 100)}, {"m3", heard(9, 120, "stopped")}, {"m4", heard(9, 90)}};
  auto d = decideRedisCandidate(f, {4, 1});
  EXPECT_FALSE(d.take);
  EXPECT_EQ(d.reason, "m3 is ahead");
}

TEST(DurabilityRuleTest, WithWait2InFiveMembersThreeReplicasHeardAreEnough) {
  CandidateFacts f;
  f.previous_leader = "m1";
  f.race_rev = 4;
  f.me = "m4";
  f.members = {{"m2", heard(4, 50)}, {"m3", heard(4, 70)}, {"m4", heard(4, 80)}};
  EXPECT_TRUE(decideRedisCandidate(f, {5, 2}).take);
  f.members.erase("m2");
  EXPECT_FALSE(decideRedisCandidate(f, {5, 2}).take);
}

}  // namespace
}  // namespace rampart::redis

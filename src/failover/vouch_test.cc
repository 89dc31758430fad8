#include "failover/vouch.h"

#include <gtest/gtest.h>

#include "base/fake_clock.h"

namespace rampart::failover {
namespace {

// A replica (m2) asked to vouch for the leader m1; etcd last answered it 500 ms ago.
class DecideVouch : public ::testing::Test {
 protected:
  VouchFacts facts() {
    VouchFacts f;
    f.me = "m2";
    f.claimed_leader = "m1";
    f.proof_valid = true;
    f.leader_present = true;
    f.leader_name = "m1";
    f.etcd_reached_at = clock_.now();
    f.etcd_silence_limit = std::chrono::milliseconds(200);
    clock_.advance(std::chrono::milliseconds(500));
    f.now = clock_.now();
    return f;
  }
  FakeClock clock_;
};

TEST_F(DecideVouch, AMemberCutOffFromEtcdVouchesForTheAuthenticatedLeader) {
  EXPECT_EQ(decideVouch(facts()).verdict, VouchVerdict::Accept);
}

TEST_F(DecideVouch, AMemberThatReachesEtcdRefusesSoTheCutOffLeaderFences) {
  auto f = facts();
  f.etcd_reached_at = f.now - std::chrono::milliseconds(150);
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::EtcdReachable);
  f.etcd_reached_at = f.now - std::chrono::milliseconds(200);  // the limit itself still counts
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::EtcdReachable);
  f.etcd_reached_at = f.now - std::chrono::milliseconds(201);
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::Accept);
}

TEST_F(DecideVouch, AVouchWithoutTheMemberCredentialIsRefused) {
  auto f = facts();
  f.proof_valid = false;
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::Unauthenticated);
}

TEST_F(DecideVouch, WithClientCertificatesOnlyTheLeadersOwnCertificateMayVouch) {
  auto f = facts();
  f.identity_required = true;
  f.peer_name = "m3";  // another member, holding the member credential too
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::Unauthenticated);
  f.peer_name = "";
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::Unauthenticated);
  f.peer_name = "m1";
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::Accept);
}

TEST_F(DecideVouch, OnlyTheCurrentLeaderIsVouchedFor) {
  auto f = facts();
  f.claimed_leader = "m3";
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::NotTheLeader) << "an earlier or no leader";
  f = facts();
  f.leader_present = false;
  f.leader_name.clear();
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::NotTheLeader) << "the key was released";
  f = facts();
  f.leading = true;
  EXPECT_EQ(decideVouch(f).verdict, VouchVerdict::NotTheLeader) << "this member leads";
}

}  // namespace
}  // namespace rampart::failover

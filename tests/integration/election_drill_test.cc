// Leader election with real `rampart elect` processes over a real 3-member etcd.

#include <signal.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "drill/election_drill.h"
#include "etcd_fixture.h"

namespace rampart::drill {
namespace {

using namespace std::chrono_literals;

class ElectionDrillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ElectionDrillOptions options;
    options.dir = dir_.path();
    options.rampart_binary = RAMPART_BINARY;
    options.candidates = 3;
    options.ttl = 1s;
    auto drill = ElectionDrill::start(options);
    ASSERT_TRUE(drill) << drill.error().message;
    drill_ = std::move(*drill);
    auto leader = drill_->waitForLeader(10s);
    ASSERT_TRUE(leader) << leader.error().message;
    leader_ = *leader;
  }

  // How many times each candidate announced it was elected (stdout events in its log).
  int electedEvents() {
    int count = 0;
    for (int i = 1; i <= 3; ++i) {
      std::ifstream in(dir_.path() + "/candidate-" + std::to_string(i) + ".log");
      std::string line;
      while (std::getline(in, line)) {
        count += line.find("\"event\":\"elected\"") != std::string::npos;
      }
    }
    return count;
  }

  testing::TempDir dir_;
  std::unique_ptr<ElectionDrill> drill_;
  std::string leader_;
};

TEST_F(ElectionDrillTest, ExactlyOneOfConcurrentCampaignersWins) {
  std::this_thread::sleep_for(500ms);  // give a wrong second winner time to show itself
  EXPECT_EQ(electedEvents(), 1);
}

TEST_F(ElectionDrillTest, KilledLeaderIsReplacedWithinTtlPlusMargin) {
  auto h = drill_->signalLeader(SIGKILL, 10s);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->old_leader, leader_);
  EXPECT_NE(h->new_leader, leader_);
  // etcd removes a 1 s lease 1-1.5 s after the last renewal; allow scheduling slack on top.
  EXPECT_LT(h->new_leader_elected, 1s + 1500ms);
  EXPECT_GE(h->new_leader_elected, h->key_gone);
}

TEST_F(ElectionDrillTest, ResigningLeaderIsReplacedAtOnce) {
  auto h = drill_->signalLeader(SIGTERM, 10s);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_NE(h->new_leader, leader_);
  // No lease expiry involved: far below the 1 s TTL.
  EXPECT_LT(h->new_leader_elected, 500ms);
}

TEST_F(ElectionDrillTest, ElectionContinuesWithOneEtcdMemberDown) {
  ASSERT_TRUE(drill_->etcd().signalMember(0, SIGKILL));
  auto h = drill_->signalLeader(SIGTERM, 10s);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_NE(h->new_leader, leader_);
}

}  // namespace
}  // namespace rampart::drill

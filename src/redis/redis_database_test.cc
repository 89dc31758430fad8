#include "redis/redis_database.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/fake_clock.h"
#include "testing/test_files.h"

namespace rampart::redis {
namespace {

Position masterAt(int64_t offset) {
  Position p;
  p.master = true;
  p.offset = offset;
  return p;
}

Position replicaOf(const net::Endpoint& master, bool link_up, std::optional<int64_t> offset) {
  Position p;
  p.following = master;
  p.link_up = link_up;
  p.offset = offset;
  return p;
}

const net::Endpoint kLeader{"127.0.0.1", 7001};

TEST(RedisStateTest, AStoppedServerIsNeitherReachableNorAReplica) {
  auto s = stateFrom(Observation{false, std::nullopt, false, std::nullopt, true});
  EXPECT_FALSE(s.running);
  EXPECT_FALSE(s.reachable);
  EXPECT_TRUE(s.has_data);
}

TEST(RedisStateTest, AServerThatDoesNotAnswerRoleIsRunningButUnreachable) {
  auto s = stateFrom(Observation{true, std::nullopt, false, std::nullopt, false});
  EXPECT_TRUE(s.running);
  EXPECT_FALSE(s.reachable);
  EXPECT_FALSE(s.replica);
}

// Its status must not claim a primary: the race counts replicas, Sentinel clients the primary.
TEST(RedisStateTest, AnUnreachableReplicaOrFencedMasterStillCountsAsAReplica) {
  EXPECT_TRUE(stateFrom(Observation{true, std::nullopt, false, kLeader, true}).replica);
  EXPECT_TRUE(stateFrom(Observation{true, std::nullopt, true, std::nullopt, true}).replica);
  EXPECT_FALSE(stateFrom(Observation{true, std::nullopt, true, std::nullopt, true}).reachable);
}

TEST(KillUnresponsiveTest, AServerSilentForTheLimitIsKilledNotBefore) {
  FakeClock clock;
  auto since = clock.now();
  EXPECT_FALSE(killUnresponsive(std::nullopt, clock.now(), std::chrono::seconds(1)));
  clock.advance(std::chrono::milliseconds(999));
  EXPECT_FALSE(killUnresponsive(since, clock.now(), std::chrono::seconds(1)));
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(killUnresponsive(since, clock.now(), std::chrono::seconds(1)));
}

TEST(RedisStateTest, AnUnfencedMasterIsWritableAtItsOffset) {
  auto s = stateFrom(Observation{true, masterAt(4242), false, std::nullopt, true});
  EXPECT_TRUE(s.reachable);
  EXPECT_FALSE(s.replica);
  EXPECT_EQ(s.position, 4242u);
}

// A detached or fenced master refuses writes: the tick must not see a writable primary
// without the key and fence it again, and it may race.
TEST(RedisStateTest, AFencedMasterCountsAsADetachedReplica) {
  auto s = stateFrom(Observation{true, masterAt(100), true, std::nullopt, true});
  EXPECT_TRUE(s.replica);
  EXPECT_FALSE(s.replicating);
  EXPECT_EQ(s.position, 100u);
}

TEST(RedisStateTest, AReplicaReplicatesOnlyWithItsLinkUpToTheMasterItWasToldToFollow) {
  auto linked = stateFrom(Observation{true, replicaOf(kLeader, true, 90), false, kLeader, true});
  EXPECT_TRUE(linked.replica);
  EXPECT_TRUE(linked.replicating);
  EXPECT_EQ(linked.position, 90u);
  auto down = stateFrom(Observation{true, replicaOf(kLeader, false, 90), false, kLeader, true});
  EXPECT_FALSE(down.replicating);
  auto elsewhere = stateFrom(Observation{
      true, replicaOf(net::Endpoint{"127.0.0.1", 7002}, true, 90), false, kLeader, true});
  EXPECT_FALSE(elsewhere.replicating);
}

TEST(RedisStateTest, AReplicaWithoutALinkYetIsAtPositionZero) {
  auto s =
      stateFrom(Observation{true, replicaOf(kLeader, false, std::nullopt), false, kLeader, true});
  EXPECT_EQ(s.position, 0u);
}

TEST(RedisStateTest, ADataSetIsAnAppendOnlyDirectoryOrAnRdbFile) {
  testing::TempDir dir;
  EXPECT_FALSE(hasDataSet(dir.path()));
  std::filesystem::create_directory(dir.path() + "/appendonlydir");
  EXPECT_TRUE(hasDataSet(dir.path()));
  testing::TempDir other;
  std::ofstream(other.path() + "/dump.rdb") << "REDIS";
  EXPECT_TRUE(hasDataSet(other.path()));
}

}  // namespace
}  // namespace rampart::redis

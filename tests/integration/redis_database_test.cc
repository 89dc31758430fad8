// redis::RedisDatabase, Redis as the failover engine's Database, against real redis-server
// processes on loopback: what the engine relies on in each call. A detached replica keeps its
// data and final offset and refuses writes; a running fenced master rejoins the leader as a
// replica; a frozen server is killed once it has been silent for unresponsive_timeout; fence()
// takes effect at once for every client. Skipped when redis-server is not installed.

#include <signal.h>

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "redis/client.h"
#include "redis/redis_database.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart::redis {
namespace {

using namespace std::chrono_literals;
using rampart::testing::eventually;

class RedisDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (runtime::runCommand({"redis-server", "--version"}, 10s).exit_code != 0) {
      GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
    }
  }

  std::unique_ptr<RedisDatabase> member(const std::string& name, int min_replicas = 1) {
    ServerConfig config;
    config.min_replicas_to_write = min_replicas;
    config.dir = dir_.path() + "/" + name;
    config.port = *net::pickFreePort("127.0.0.1");
    return std::make_unique<RedisDatabase>(config, 1s);
  }

  static failover::Address addressOf(RedisDatabase& db) {
    return failover::Address{db.server().endpoint().host, db.server().endpoint().port};
  }

  static Result<Reply> run(RedisDatabase& db, std::vector<std::string> argv) {
    auto c = Client::connect(db.server().endpoint(), 2s);
    if (!c) {
      return fail(c.error());
    }
    return c->command(argv, 2s);
  }

  rampart::testing::TempDir dir_;
};

TEST_F(RedisDatabaseTest, ADetachedReplicaKeepsItsDataAndFinalOffsetAndRefusesWrites) {
  auto leader = member("m1");
  auto replica = member("m2", 0);  // writable without replicas: only the detach's fence refuses
  ASSERT_TRUE(leader->bootstrap());
  ASSERT_TRUE(replica->startReplica(addressOf(*leader)));
  ASSERT_TRUE(eventually([&] { return replica->observe().replicating; }, 10s));
  EXPECT_FALSE(leader->observe().replica);
  auto set = run(*leader, {"SET", "k", "v"});
  ASSERT_TRUE(set && !set->isError()) << (set ? set->str : set.error().message);
  auto wait = run(*leader, {"WAIT", "1", "2000"});
  ASSERT_TRUE(wait && wait->integer == 1);
  auto master_offset = leader->observe().position;

  auto final_position = replica->follow(std::nullopt);
  ASSERT_TRUE(final_position) << final_position.error().message;
  EXPECT_GE(*final_position, master_offset);
  auto state = replica->observe();
  EXPECT_TRUE(state.replica) << "a detached server counts as a replica";
  EXPECT_FALSE(state.replicating);
  auto refused = run(*replica, {"SET", "x", "1"});
  ASSERT_TRUE(refused);
  EXPECT_TRUE(refused->isError());
  auto kept = run(*replica, {"GET", "k"});
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->str, "v");
  // The leader lost its replica: it refuses writes too (min-replicas-to-write 1).
  EXPECT_TRUE(eventually(
      [&] {
        auto r = run(*leader, {"SET", "y", "1"});
        return r && r->isError();
      },
      5s));

  // Promoted, it takes writes once a replica is back (the old leader rejoining it).
  ASSERT_TRUE(replica->promote());
  EXPECT_FALSE(replica->observe().replica);
  ASSERT_TRUE(leader->rejoin(addressOf(*replica), true));
  EXPECT_TRUE(eventually([&] { return leader->observe().replicating; }, 10s));
  EXPECT_TRUE(eventually(
      [&] {
        auto r = run(*replica, {"SET", "z", "1"});
        return r && !r->isError();
      },
      5s));
}

TEST_F(RedisDatabaseTest, FenceRefusesWritesAtOnceForEveryClient) {
  auto leader = member("m1", 0);  // writable without replicas: only the fence refuses
  ASSERT_TRUE(leader->bootstrap());
  auto before = Client::connect(leader->server().endpoint(), 2s);
  ASSERT_TRUE(before);
  auto taken = before->command({"SET", "k", "v"}, 2s);
  ASSERT_TRUE(taken && !taken->isError());
  leader->fence();
  auto refused = before->command({"SET", "k", "v"}, 2s);
  ASSERT_TRUE(refused);
  EXPECT_TRUE(refused->isError()) << refused->str;
  EXPECT_TRUE(leader->observe().replica) << "fenced: no longer a writable primary";
}

TEST_F(RedisDatabaseTest, AFrozenServerIsKilledOnceSilentForTheTimeout) {
  auto db = member("m1");
  ASSERT_TRUE(db->startReplica(std::nullopt));  // fenced, detached
  pid_t pid = db->server().pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  auto frozen_at = std::chrono::steady_clock::now();
  bool killed = eventually([&] { return !db->observe().running; }, 5s, 50ms);
  if (!killed) {
    ::kill(pid, SIGCONT);
  }
  ASSERT_TRUE(killed);
  EXPECT_GE(std::chrono::steady_clock::now() - frozen_at, 1s);
  EXPECT_FALSE(runtime::isAlive(pid));
}

}  // namespace
}  // namespace rampart::redis

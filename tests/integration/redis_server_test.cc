// redis::Server, the member driver, against real redis-server processes on loopback (free
// ports, one temporary directory per test): a master and two replicas re-pointed by a planned
// switchover with nothing lost; a fenced master refusing writes to every client, also ones that
// connect after the fence; a master cut off from its replica refusing writes within
// min-replicas-max-lag; a fenced start; and the server dying with the process that owns the
// driver. Skipped when redis-server is not installed (scripts/setup.sh installs it).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net/endpoint.h"
#include "redis/client.h"
#include "redis/server.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart::redis {
namespace {

using namespace std::chrono_literals;
using rampart::testing::eventually;

bool redisInstalled() {
  return runtime::runCommand({"redis-server", "--version"}, 10s).exit_code == 0;
}

class RedisServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!redisInstalled()) {
      GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
    }
  }

  // A driver for a new member in its own directory under the test's, on a free port.
  std::unique_ptr<Server> member(const std::string& name, int min_replicas = 1, int lag_s = 10) {
    ServerConfig config;
    config.dir = dir_.path() + "/" + name;
    auto port = net::pickFreePort("127.0.0.1");
    EXPECT_TRUE(port) << port.error().message;
    config.port = port ? *port : 0;
    config.min_replicas_to_write = min_replicas;
    config.min_replicas_max_lag_s = lag_s;
    return std::make_unique<Server>(config);
  }

  rampart::testing::TempDir dir_;
};

Client connect(const Server& server) {
  auto client = Client::connect(server.endpoint(), 2s);
  EXPECT_TRUE(client) << client.error().message;
  return std::move(*client);
}

// SET through a fresh connection: the reply ("OK", or the error the client sees).
std::string set(const Server& server, const std::string& key, const std::string& value) {
  auto client = Client::connect(server.endpoint(), 2s);
  if (!client) {
    return "connect: " + client.error().message;
  }
  auto reply = client->command({"SET", key, value}, 2s);
  if (!reply) {
    return "command: " + reply.error().message;
  }
  return reply->str;
}

std::string get(const Server& server, const std::string& key) {
  auto client = Client::connect(server.endpoint(), 2s);
  if (!client) {
    return "connect: " + client.error().message;
  }
  auto reply = client->command({"GET", key}, 2s);
  return reply ? reply->str : "command: " + reply.error().message;
}

bool linkedTo(Server& replica, const Server& master) {
  auto pos = replica.position(2s);
  return pos && !pos->master && pos->link_up && pos->following &&
         pos->following->port == master.endpoint().port;
}

TEST_F(RedisServerTest, ASwitchoverPromotesAReplicaRepointsTheOthersAndLosesNothing) {
  auto a = member("a");
  auto b = member("b");
  auto c = member("c");
  ASSERT_TRUE(a->startAsMaster(20s));
  ASSERT_TRUE(b->startAsReplicaOf(a->endpoint(), 20s));
  ASSERT_TRUE(c->startAsReplicaOf(a->endpoint(), 20s));
  ASSERT_TRUE(eventually([&] { return linkedTo(*b, *a) && linkedTo(*c, *a); }, 30s, 50ms));
  // min-replicas-to-write 1: writable once its replicas acknowledge.
  ASSERT_TRUE(eventually([&] { return set(*a, "k0", "v0") == "OK"; }, 15s, 50ms));
  EXPECT_EQ(set(*b, "x", "y").rfind("READONLY", 0), 0u) << "a replica must refuse writes";

  for (int i = 1; i <= 50; ++i) {
    ASSERT_EQ(set(*a, "k" + std::to_string(i), "v" + std::to_string(i)), "OK");
  }
  // The switchover: fence the old master, wait until the target has its offset, promote it,
  // re-point the others.
  ASSERT_TRUE(a->fence(2s));
  auto old_master = a->position(2s);
  ASSERT_TRUE(old_master && old_master->master && old_master->offset);
  auto reached = b->waitForOffset(*old_master->offset, 10s);
  ASSERT_TRUE(reached) << reached.error().message;
  EXPECT_GE(*reached, *old_master->offset);
  ASSERT_TRUE(b->promote(2s));
  ASSERT_TRUE(a->follow(b->endpoint(), 2s));
  ASSERT_TRUE(c->follow(b->endpoint(), 2s));
  ASSERT_TRUE(eventually([&] { return linkedTo(*a, *b) && linkedTo(*c, *b); }, 30s, 50ms));

  auto new_master = b->position(2s);
  ASSERT_TRUE(new_master);
  EXPECT_TRUE(new_master->master);
  for (int i = 0; i <= 50; ++i) {
    EXPECT_EQ(get(*b, "k" + std::to_string(i)), "v" + std::to_string(i));
  }
  ASSERT_TRUE(eventually([&] { return set(*b, "after", "1") == "OK"; }, 15s, 50ms));
  EXPECT_TRUE(
      eventually([&] { return get(*a, "after") == "1" && get(*c, "after") == "1"; }, 15s, 50ms));
  EXPECT_EQ(set(*a, "x", "y").rfind("READONLY", 0), 0u) << "the old master must be a replica";
}

TEST_F(RedisServerTest, AFencedMasterRefusesWritesToEveryClientUntilUnfenced) {
  auto a = member("a", /*min_replicas=*/0);
  ASSERT_TRUE(a->startAsMaster(20s));
  ASSERT_EQ(set(*a, "k", "1"), "OK");
  Client before = connect(*a);  // connected before the fence

  ASSERT_TRUE(a->fence(2s));
  auto refused = before.command({"SET", "k", "2"}, 2s);
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_TRUE(refused->isError());
  EXPECT_EQ(refused->str.rfind("NOREPLICAS", 0), 0u) << refused->str;
  // The fence is server state: new connections, and the driver reconnecting, see it too.
  EXPECT_EQ(set(*a, "k", "3").rfind("NOREPLICAS", 0), 0u);
  std::this_thread::sleep_for(1500ms);  // past a replication cron, which recounts good replicas
  EXPECT_EQ(set(*a, "k", "4").rfind("NOREPLICAS", 0), 0u);
  EXPECT_EQ(get(*a, "k"), "1");
  EXPECT_TRUE(a->isAlive(1s)) << "reads and PING still work on a fenced master";

  ASSERT_TRUE(a->unfence(2s));
  EXPECT_EQ(set(*a, "k", "5"), "OK");
}

TEST_F(RedisServerTest, AMasterCutOffFromItsReplicaStopsAcceptingWritesWithinTheLag) {
  constexpr int kLagS = 2;
  auto a = member("a", /*min_replicas=*/1, kLagS);
  auto b = member("b", 1, kLagS);
  ASSERT_TRUE(a->startAsMaster(20s));
  ASSERT_TRUE(b->startAsReplicaOf(a->endpoint(), 20s));
  ASSERT_TRUE(eventually([&] { return set(*a, "k", "1") == "OK"; }, 15s, 50ms));

  // Frozen, the replica acknowledges nothing more: the master is cut off from it.
  ASSERT_EQ(::kill(b->pid(), SIGSTOP), 0);
  auto cut = std::chrono::steady_clock::now();
  bool refused = eventually([&] { return set(*a, "k", "2").rfind("NOREPLICAS", 0) == 0; },
                            std::chrono::seconds(kLagS + 3), 50ms);
  auto took = std::chrono::steady_clock::now() - cut;
  ::kill(b->pid(), SIGCONT);
  ASSERT_TRUE(refused) << "still writable " << toMillis(took) << " ms after the cut";
  // lag + one replication cron (1 s) + the replica's last ack interval (1 s).
  EXPECT_LE(took, std::chrono::seconds(kLagS + 2));
  // Back in touch, it accepts writes again.
  EXPECT_TRUE(eventually([&] { return set(*a, "k", "3") == "OK"; }, 15s, 50ms));
}

TEST_F(RedisServerTest, AFencedStartRefusesWritesUntilPromoted) {
  auto a = member("a", /*min_replicas=*/0);
  ASSERT_TRUE(a->startFenced(20s));
  auto pos = a->position(2s);
  ASSERT_TRUE(pos) << pos.error().message;
  EXPECT_TRUE(pos->master);
  EXPECT_EQ(set(*a, "k", "1").rfind("NOREPLICAS", 0), 0u);
  ASSERT_TRUE(a->promote(2s));
  EXPECT_EQ(set(*a, "k", "1"), "OK");
}

TEST_F(RedisServerTest, StartingTwiceFailsAndStopEndsTheProcess) {
  auto a = member("a", 0);
  ASSERT_TRUE(a->startAsMaster(20s));
  pid_t pid = a->pid();
  auto again = a->startAsMaster(5s);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::FailedPrecondition);
  ASSERT_TRUE(a->stop(5s));
  EXPECT_FALSE(runtime::isAlive(pid));
  EXPECT_FALSE(a->isAlive(500ms));
  // Restarted, it has what it wrote (the AOF).
  ASSERT_TRUE(a->startAsMaster(20s));
  ASSERT_EQ(set(*a, "durable", "1"), "OK");
  ASSERT_TRUE(a->stop(5s));
  ASSERT_TRUE(a->startAsMaster(20s));
  EXPECT_EQ(get(*a, "durable"), "1");
}

// Redis refuses a SIGTERM while it writes the initial AOF that follows a replica's full
// resynchronisation, and does not retry: a single SIGTERM left the server (and the member
// stopping it) waiting for the SIGKILL, 10 s later.
TEST_F(RedisServerTest, StoppingAReplicaThatIsWritingItsInitialAofEndsItWithoutTheKill) {
  auto a = member("a", 0);
  ASSERT_TRUE(a->startAsMaster(20s));
  auto filled = connect(*a).command(
      {"EVAL", "for i = 1, 300000 do redis.call('SET', 'k' .. i, i) end return 1", "0"}, 30s);
  ASSERT_TRUE(filled && !filled->isError()) << (filled ? filled->str : filled.error().message);
  int caught = 0;  // rounds that stopped the replica while its initial AOF was being written
  for (int round = 0; round < 5 && caught == 0; ++round) {
    auto b = member("b" + std::to_string(round));
    ASSERT_TRUE(b->startAsReplicaOf(a->endpoint(), 20s));
    // Until the full resynchronisation is loaded and its AOF rewrite starts.
    bool writing = eventually(
        [&] {
          auto info = connect(*b).command({"INFO", "persistence"}, 2s);
          return info && (info->str.find("aof_rewrite_in_progress:1") != std::string::npos ||
                          info->str.find("aof_rewrite_scheduled:1") != std::string::npos);
        },
        10s, 1ms);
    pid_t pid = b->pid();
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(b->stop(10s));
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_FALSE(runtime::isAlive(pid));
    EXPECT_LT(took, 3s) << "the stop waited for the SIGKILL";
    auto log = rampart::testing::readWholeFile(dir_.path() + "/b" + std::to_string(round) +
                                               "/redis.log");
    caught += writing && log.find("can't exit") != std::string::npos;
  }
  EXPECT_GT(caught, 0) << "no round stopped the replica while it wrote its initial AOF";
}

TEST_F(RedisServerTest, AStartOnAPortAnotherServerHoldsFailsInsteadOfTakingItForOurs) {
  auto a = member("a", 0);
  ASSERT_TRUE(a->startAsMaster(20s));
  ServerConfig config;
  config.dir = dir_.path() + "/b";
  config.port = a->endpoint().port;
  config.min_replicas_to_write = 0;
  Server b(config);
  auto started = b.startAsMaster(10s);
  ASSERT_FALSE(started) << "b took a's server for its own";
  EXPECT_EQ(started.error().code, ErrorCode::Unavailable) << started.error().message;
  EXPECT_NE(started.error().message.find("exited while starting"), std::string::npos)
      << started.error().message;
  EXPECT_FALSE(b.running());
  EXPECT_TRUE(a->isAlive(1s));
}

TEST_F(RedisServerTest, TheDestructorStopsTheServer) {
  pid_t pid = -1;
  {
    auto a = member("a", 0);
    ASSERT_TRUE(a->startAsMaster(20s));
    pid = a->pid();
    ASSERT_TRUE(runtime::isAlive(pid));
  }
  EXPECT_FALSE(runtime::isAlive(pid));
}

// The owner is a forked copy of this test that starts the server and waits; SIGKILL to it (no
// destructor runs) must take redis-server with it (PR_SET_PDEATHSIG).
TEST_F(RedisServerTest, KillingTheOwnerProcessKillsRedisServer) {
  auto a = member("a", 0);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    ::close(fds[0]);
    pid_t started = a->startAsMaster(20s) ? a->pid() : -1;
    (void)!::write(fds[1], &started, sizeof started);
    for (;;) {
      ::pause();
    }
  }
  ::close(fds[1]);
  pid_t server = -1;
  ssize_t n = ::read(fds[0], &server, sizeof server);
  ::close(fds[0]);
  if (n != sizeof server || server <= 0) {
    ::kill(owner, SIGKILL);
    ::waitpid(owner, nullptr, 0);
    FAIL() << "the owner could not start redis-server: "
           << rampart::testing::readWholeFile(a->logFile());
  }
  EXPECT_TRUE(a->isAlive(2s));
  ASSERT_EQ(::kill(owner, SIGKILL), 0);
  ::waitpid(owner, nullptr, 0);
  bool gone = eventually([&] { return !runtime::isAlive(server); }, 10s, 20ms);
  if (!gone) {
    ::kill(server, SIGKILL);  // ours to clean up: the owner we forked started it
  }
  EXPECT_TRUE(gone) << "redis-server " << server << " outlived its owner";
}

}  // namespace
}  // namespace rampart::redis

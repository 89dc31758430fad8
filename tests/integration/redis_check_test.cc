// The load balancer's Redis role check (health type redis) against real redis-server processes:
// a write VIP (role master) and a read VIP (role replica) over two members send each new client
// to the member in that role, and follow a REPLICAOF swap; a client connected to the old master
// through the write VIP is cut (on_down: close). Skipped when redis-server is not installed.

#include <algorithm>

#include "lb_fixture.h"
#include "redis/client.h"
#include "redis/server.h"

namespace rampart::lb {
namespace {

using namespace std::chrono_literals;

bool redisInstalled() {
  return runtime::runCommand({"redis-server", "--version"}, 10s).exit_code == 0;
}

class RedisCheckTest : public testing::LbTest {
 protected:
  void SetUp() override {
    if (!redisInstalled()) {
      GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
    }
  }

  std::unique_ptr<redis::Server> member(const std::string& name) {
    redis::ServerConfig config;
    config.dir = dir_.path() + "/" + name;
    config.port = *net::pickFreePort("127.0.0.1");
    return std::make_unique<redis::Server>(config);
  }

  // The port of the server a new client through `vip` reaches ("" if none answered).
  static std::string portBehind(const net::Endpoint& vip) {
    auto client = redis::Client::connect(vip, 1s);
    if (!client) {
      return "";
    }
    auto reply = client->command({"CONFIG", "GET", "port"}, 1s);
    if (!reply || reply->type != redis::Reply::Type::Array || reply->elements.size() != 2) {
      return "";
    }
    return reply->elements[1].str;
  }

  // Whether `count` new clients through `vip` all reach `server`.
  static bool allReach(const net::Endpoint& vip, const redis::Server& server, int count = 10) {
    for (int i = 0; i < count; ++i) {
      if (portBehind(vip) != std::to_string(server.endpoint().port)) {
        return false;
      }
    }
    return true;
  }

  net::Endpoint read_vip_{"127.0.0.100", *net::pickFreePort("127.0.0.100")};
};

TEST_F(RedisCheckTest, TheWriteVipFollowsTheMasterAndTheReadVipTheReplicaAcrossARoleSwap) {
  auto a = member("a");
  auto b = member("b");
  ASSERT_TRUE(a->startAsMaster(20s));
  ASSERT_TRUE(b->startAsReplicaOf(a->endpoint(), 20s));

  std::string backends = "    backends:\n      - address: " + a->endpoint().hostPort() +
                         "\n      - address: " + b->endpoint().hostPort() + "\n";
  std::string check = "interval: 50ms, timeout: 300ms, rise: 1, fall: 1, initial_state: down";
  ASSERT_NO_FATAL_FAILURE(startLbWithConfig(
      "virtual_servers:\n"
      "  - name: write\n    listen: " +
      vip_.toString() + "\n    on_down: close\n    health: { type: redis, role: master, " + check +
      " }\n" + backends + "  - name: read\n    listen: " + read_vip_.toString() +
      "\n    on_down: close\n    health: { type: redis, role: replica, " + check + " }\n" +
      backends));

  ASSERT_TRUE(eventually([&] { return allReach(vip_, *a) && allReach(read_vip_, *b); }, 10s))
      << testing::readWholeFile(lb_log_);
  // Writes through the write VIP land on the master (once its replica acknowledges).
  ASSERT_TRUE(eventually(
      [&] {
        auto client = redis::Client::connect(vip_, 1s);
        auto reply = client ? client->command({"SET", "k", "1"}, 1s) : Result<redis::Reply>();
        return client && reply && reply->str == "OK";
      },
      15s));
  auto held = redis::Client::connect(vip_, 1s);
  ASSERT_TRUE(held) << held.error().message;
  ASSERT_TRUE(held->command({"PING"}, 1s));

  // The swap: b becomes the master, a its replica.
  ASSERT_TRUE(a->fence(2s));
  ASSERT_TRUE(b->promote(2s));
  ASSERT_TRUE(a->follow(b->endpoint(), 2s));

  EXPECT_TRUE(eventually([&] { return allReach(vip_, *b) && allReach(read_vip_, *a); }, 10s))
      << testing::readWholeFile(lb_log_);
  // The client held through the write VIP was on the old master: cut, not left writing to it.
  EXPECT_TRUE(eventually([&] { return !held->command({"PING"}, 500ms); }, 5s));
  EXPECT_TRUE(eventually(
      [&] {
        auto client = redis::Client::connect(vip_, 1s);
        auto reply = client ? client->command({"SET", "k", "2"}, 1s) : Result<redis::Reply>();
        return client && reply && reply->str == "OK";
      },
      15s));
  auto direct = redis::Client::connect(b->endpoint(), 1s);
  ASSERT_TRUE(direct);
  auto value = direct->command({"GET", "k"}, 1s);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->str, "2");
}

TEST_F(RedisCheckTest, AServerThatStopsAnsweringIsTakenOutByTheCheckTimeout) {
  auto a = member("a");
  ASSERT_TRUE(a->startAsMaster(20s));
  ASSERT_NO_FATAL_FAILURE(startLbWithConfig(
      "virtual_servers:\n  - name: write\n    listen: " + vip_.toString() +
      "\n    health: { type: redis, role: master, interval: 50ms, timeout: 300ms, rise: 1, fall: 1,"
      " initial_state: down }\n    backends:\n      - address: " +
      a->endpoint().hostPort() + "\n"));
  Backend shown{"a", "redis", a->endpoint(), "", "", {}, 0};
  ASSERT_TRUE(eventually([&] { return stateOf(shown) == "UP"; }, 10s))
      << testing::readWholeFile(lb_log_);
  // Frozen, it still accepts TCP connections (the kernel does), but never answers ROLE.
  ASSERT_EQ(::kill(a->pid(), SIGSTOP), 0);
  bool down = eventually([&] { return stateOf(shown) == "DOWN"; }, 5s);
  ::kill(a->pid(), SIGCONT);
  EXPECT_TRUE(down) << testing::readWholeFile(lb_log_);
  EXPECT_TRUE(eventually([&] { return stateOf(shown) == "UP"; }, 10s));
}

}  // namespace
}  // namespace rampart::lb

// renderServerConfig: what a member's redis.conf says for each way it starts, and the values it
// refuses. The driver's I/O is tested against real redis-server processes in
// tests/integration/redis_server_test.cc.
#include "redis/server.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace rampart::redis {
namespace {

ServerConfig member() {
  ServerConfig config;
  config.dir = "/var/lib/rampart/redis/m1";
  config.bind = "10.0.0.1";
  config.port = 7001;
  return config;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') {
      out.push_back(line);
    }
  }
  return out;
}

bool has(const std::vector<std::string>& all, const std::string& line) {
  return std::find(all.begin(), all.end(), line) != all.end();
}

// The lines whose first word is `key`.
std::vector<std::string> withKey(const std::vector<std::string>& all, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& line : all) {
    if (line.rfind(key + " ", 0) == 0) {
      out.push_back(line);
    }
  }
  return out;
}

TEST(RenderServerConfigTest, AMasterListensWhereToldWithTheAofAndTheReplicaGuardByDefault) {
  auto text = renderServerConfig(member(), StartRole::Master);
  ASSERT_TRUE(text) << text.error().message;
  auto all = lines(*text);
  EXPECT_TRUE(has(all, "port 7001"));
  EXPECT_TRUE(has(all, "bind \"10.0.0.1\""));
  EXPECT_TRUE(has(all, "dir \"/var/lib/rampart/redis/m1\""));
  EXPECT_TRUE(has(all, "appendonly yes"));
  EXPECT_TRUE(has(all, "appendfsync everysec"));
  EXPECT_TRUE(has(all, "repl-diskless-sync-delay 0"));
  EXPECT_TRUE(has(all, "shutdown-timeout 0"));
  EXPECT_TRUE(has(all, "replica-read-only yes"));
  EXPECT_TRUE(has(all, "daemonize no"));
  EXPECT_TRUE(has(all, "min-replicas-to-write 1"));
  EXPECT_TRUE(has(all, "min-replicas-max-lag 10"));
  EXPECT_TRUE(withKey(all, "replicaof").empty());
}

TEST(RenderServerConfigTest, AReplicaStartsFollowingItsMaster) {
  auto text = renderServerConfig(member(), StartRole::Replica, net::Endpoint{"10.0.0.2", 7002});
  ASSERT_TRUE(text) << text.error().message;
  auto all = lines(*text);
  EXPECT_EQ(withKey(all, "replicaof"), std::vector<std::string>{"replicaof \"10.0.0.2\" 7002"});
  EXPECT_TRUE(has(all, "replica-read-only yes"));
}

TEST(RenderServerConfigTest, AReplicaWithoutAMasterIsRefusedRatherThanStartedAsAMaster) {
  auto text = renderServerConfig(member(), StartRole::Replica);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, ErrorCode::InvalidArgument);
  EXPECT_FALSE(renderServerConfig(member(), StartRole::Replica, net::Endpoint{"10.0.0.2", 0}));
}

TEST(RenderServerConfigTest, AFencedStartRefusesWritesFromTheFirstCommand) {
  auto text = renderServerConfig(member(), StartRole::Fenced);
  ASSERT_TRUE(text) << text.error().message;
  auto all = lines(*text);
  EXPECT_EQ(
      withKey(all, "min-replicas-to-write"),
      std::vector<std::string>{"min-replicas-to-write " + std::to_string(kFencedMinReplicas)});
  EXPECT_TRUE(has(all, "min-replicas-max-lag 10"));
  EXPECT_TRUE(withKey(all, "replicaof").empty());
}

TEST(RenderServerConfigTest, TheReplicaGuardAndAnnounceAddressFollowTheConfig) {
  auto config = member();
  config.min_replicas_to_write = 0;
  config.min_replicas_max_lag_s = 3;
  config.announce_ip = "192.0.2.7";
  auto text = renderServerConfig(config, StartRole::Master);
  ASSERT_TRUE(text) << text.error().message;
  auto all = lines(*text);
  EXPECT_TRUE(has(all, "min-replicas-to-write 0"));
  EXPECT_TRUE(has(all, "min-replicas-max-lag 3"));
  EXPECT_TRUE(has(all, "replica-announce-ip \"192.0.2.7\""));
}

TEST(RenderServerConfigTest, ValuesRedisConfCannotCarryAreRefused) {
  auto quote = member();
  quote.dir = "/tmp/a\"b";
  auto newline = member();
  newline.dir = "/tmp/a\nreplicaof 1.2.3.4 5";
  auto backslash = member();
  backslash.bind = "10.0.0.1\\";
  auto no_lag = member();
  no_lag.min_replicas_max_lag_s = 0;  // would switch the guard, and fence(), off
  auto negative = member();
  negative.min_replicas_to_write = -1;
  auto no_dir = member();
  no_dir.dir = "";
  auto no_port = member();
  no_port.port = 0;
  for (const auto& bad : {quote, newline, backslash, no_lag, negative, no_dir, no_port}) {
    auto text = renderServerConfig(bad, StartRole::Master);
    ASSERT_FALSE(text) << *text;
    EXPECT_EQ(text.error().code, ErrorCode::InvalidArgument);
  }
  EXPECT_FALSE(renderServerConfig(member(), StartRole::Replica, net::Endpoint{"10.0.0.2\n", 7002}));
}

}  // namespace
}  // namespace rampart::redis

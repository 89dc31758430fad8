#include "chaos/scenario.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rampart::chaos {
namespace {

using ::testing::HasSubstr;

Cluster clusterOf(const std::string& kind) {
  Cluster c;
  c.path = "/tmp/lab/cluster.json";
  c.kind = kind;
  for (int i = 1; i <= 3; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    m.host = "127.0.0.1";
    m.port = static_cast<uint16_t>(6379 + i);
    m.manager_pid = 1000 + i;
    m.start_command = {"/abs/rampart", "redis", "--config", "member.yaml"};
    c.members.push_back(m);
  }
  c.write_vip = net::Endpoint{"127.0.0.1", 7000};
  return c;
}

ScenarioOptions scenario(const std::string& name) {
  ScenarioOptions o;
  o.scenario = name;
  return o;
}

TEST(ValidateScenario, KillServerIsAcceptedForPostgresAndRedis) {
  EXPECT_TRUE(validateScenario(clusterOf("rampart"), scenario("kill-server")));
  EXPECT_TRUE(validateScenario(clusterOf("patroni"), scenario("kill-server")));
  EXPECT_TRUE(validateScenario(clusterOf("rampart-redis"), scenario("kill-server")));
  EXPECT_TRUE(validateScenario(clusterOf("rampart"), scenario("kill-postmaster")));
}

TEST(ValidateScenario, KillPostmasterOnARedisClusterNamesTheFileAndKillServer) {
  auto r = validateScenario(clusterOf("rampart-redis"), scenario("kill-postmaster"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("/tmp/lab/cluster.json is kind rampart-redis"));
  EXPECT_THAT(r.error().message, HasSubstr("use kill-server"));
}

TEST(ValidateScenario, SwitchoverNeedsTheCommandInTheClusterFile) {
  auto r = validateScenario(clusterOf("rampart-redis"), scenario("switchover"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("switchover_command: required by scenario switchover"));
  Cluster c = clusterOf("rampart-redis");
  c.switchover_command = {"/abs/rampart", "redis", "switchover", "--to", "{candidate}"};
  EXPECT_TRUE(validateScenario(c, scenario("switchover")));
}

TEST(ValidateScenario, AnUnknownScenarioListsTheKnownOnes) {
  auto r = validateScenario(clusterOf("rampart-redis"), scenario("explode"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("unknown scenario 'explode' (kill-server, "));
}

}  // namespace
}  // namespace rampart::chaos

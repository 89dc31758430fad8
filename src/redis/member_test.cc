#include "redis/member.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "redis/member_config.h"

namespace rampart::redis {
namespace {

failover::MemberRecord record(uint16_t port, std::string role, failover::Position position = 0) {
  failover::MemberRecord m;
  m.address = failover::Address{"127.0.0.1", port};
  m.role = std::move(role);
  m.position = position;
  return m;
}

TEST(SentinelViewTest, TheMasterIsTheLeaderOnceItServesAndTheReplicasAreTheOthers) {
  std::map<std::string, failover::MemberRecord> members = {{"m1", record(7001, "primary", 50)},
                                                           {"m2", record(7002, "replica", 40)},
                                                           {"m3", record(7003, "stopped")}};
  auto view = sentinelView("mymaster", "m1", members, std::nullopt);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->master_name, "mymaster");
  EXPECT_EQ(view->master.port, 7001);
  ASSERT_EQ(view->replicas.size(), 1u);
  EXPECT_EQ(view->replicas[0].address.port, 7002);
  EXPECT_EQ(view->replicas[0].offset, 40);
}

// While a replica is being promoted (or no one leads), clients keep the last master, as a
// Sentinel does until it promoted a replica: no empty answer to get-master-addr-by-name.
TEST(SentinelViewTest, TheLastMasterStaysUntilTheNewLeaderServesAsPrimary) {
  std::map<std::string, failover::MemberRecord> members = {{"m1", record(7001, "primary")},
                                                           {"m2", record(7002, "replica")}};
  auto first = sentinelView("mymaster", "m1", members, std::nullopt);
  members["m1"].role = "stopped";
  EXPECT_EQ(sentinelView("mymaster", "", members, first)->master.port, 7001);
  EXPECT_EQ(sentinelView("mymaster", "m2", members, first)->master.port, 7001);
  members["m2"].role = "primary";
  auto moved = sentinelView("mymaster", "m2", members, first);
  EXPECT_EQ(moved->master.port, 7002);
  EXPECT_EQ(moved->config_epoch, first->config_epoch + 1);
  EXPECT_FALSE(sentinelView("mymaster", "", members, std::nullopt));
}

TEST(SentinelViewTest, OtherMembersSentinelPortsAreListedWithoutThisOne) {
  std::vector<store::KeyValue> kvs(4);
  kvs[0].key = "/rampart/redis/c1/sentinels/m1";
  kvs[0].value = "127.0.0.1:27001";
  kvs[1].key = "/rampart/redis/c1/sentinels/m2";
  kvs[1].value = "127.0.0.1:27002";
  kvs[2].key = "/rampart/redis/c1/sentinels/m3";
  kvs[2].value = "not an address";
  kvs[3].key = "/rampart/redis/c1/members/m2";
  kvs[3].value = "127.0.0.1:9";
  auto others = otherSentinels("/rampart/redis/c1", "m1", kvs);
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others[0].address.port, 27002);
  EXPECT_EQ(others[0].run_id.size(), 40u);
  std::map<std::string, failover::MemberRecord> members = {{"m1", record(7001, "primary")}};
  auto view = sentinelView("mymaster", "m1", members, std::nullopt, others);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->sentinels.size(), 1u);
  // Kept, with fresh Sentinels, while no leader serves.
  auto kept = sentinelView("mymaster", "", members, view, {});
  EXPECT_EQ(kept->master.port, 7001);
  EXPECT_TRUE(kept->sentinels.empty());
}

TEST(ClusterJsonTest, ListsEveryMemberWithItsRoleAndPosition) {
  auto j = nlohmann::json::parse(clusterJson(
      "c1", "m1", {{"m1", record(7001, "primary", 9)}, {"m2", record(7002, "replica", 8)}}));
  EXPECT_EQ(j["leader"], "m1");
  ASSERT_EQ(j["members"].size(), 2u);
  EXPECT_EQ(j["members"][1]["name"], "m2");
  EXPECT_EQ(j["members"][1]["role"], "replica");
  EXPECT_EQ(j["members"][1]["position"], 8);
}

TEST(GroupTest, ReadsTheLeaderAndMemberKeysAndPrintsOneLinePerMember) {
  std::vector<store::KeyValue> kvs(3);
  kvs[0].key = "/rampart/redis/c1/leader";
  kvs[0].value = "m1";
  kvs[1].key = "/rampart/redis/c1/members/m1";
  kvs[1].value = failover::encodeMember(record(7001, "primary", 9));
  kvs[2].key = "/rampart/redis/c1/members/m2";
  kvs[2].value = "garbage";  // skipped, not a member at offset 0
  auto group = groupFromKeys("/rampart/redis/c1", kvs);
  EXPECT_EQ(group.leader, "m1");
  ASSERT_EQ(group.members.size(), 1u);
  auto text = formatGroup(group.leader, group.members);
  EXPECT_NE(text.find("m1      127.0.0.1:7001         primary   9  (leader)"), std::string::npos)
      << text;
  EXPECT_NE(formatGroup("", {}).find("no member"), std::string::npos);
}

const char* kConfig = R"(cluster: c1
name: m1
etcd: { endpoints: [127.0.0.1:2379] }
redis: { listen: 127.0.0.1:7001, dir: /tmp/m1 }
sentinel: { listen: 127.0.0.1:27001, master_name: lab }
rest: { listen: 127.0.0.1:8001 }
ha: { members: 5, wait_replicas: 2 }
)";

TEST(MemberConfigTest, ParsesAMemberWithDefaultsThatFenceACutOffMaster) {
  auto root = config::loadString(kConfig, "member.yaml");
  ASSERT_TRUE(root);
  auto c = parseMemberConfig(*root);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->keyPrefix(), "/rampart/redis/c1");
  EXPECT_EQ(c->server.port, 7001);
  EXPECT_EQ(c->server.dir, "/tmp/m1");
  EXPECT_EQ(c->server.min_replicas_to_write, 1);
  EXPECT_EQ(c->server.min_replicas_max_lag_s, 10);
  EXPECT_EQ(c->unresponsive_timeout, std::chrono::seconds(1));
  EXPECT_TRUE(c->sentinel);
  EXPECT_EQ(c->master_name, "lab");
  EXPECT_EQ(c->ha.durability.members, 5);
  EXPECT_EQ(c->ha.durability.wait_replicas, 2);
  EXPECT_TRUE(c->ha.failsafe);
  EXPECT_FALSE(c->failsafeEnabled()) << "no member credential: no failsafe";
}

std::string errorOf(const std::string& text) {
  auto root = config::loadString(text, "member.yaml");
  if (!root) {
    return root.error().message;
  }
  auto c = parseMemberConfig(*root);
  return c ? "" : c.error().message;
}

TEST(MemberConfigTest, ErrorsNameTheFileLineAndField) {
  std::string base = "cluster: c1\nname: m1\netcd: { endpoints: [127.0.0.1:2379] }\n";
  EXPECT_NE(errorOf(base).find("redis.listen: required"), std::string::npos) << errorOf(base);
  auto lag =
      errorOf(base + "redis: { listen: 127.0.0.1:7001, dir: /d, min_replicas_max_lag: 0s }\n");
  EXPECT_NE(lag.find("member.yaml:4:"), std::string::npos) << lag;
  EXPECT_NE(lag.find("redis.min_replicas_max_lag"), std::string::npos) << lag;
  auto typo =
      errorOf(base + "redis: { listen: 127.0.0.1:7001, dir: /d }\nha: { leader_timeot: 1s }\n");
  EXPECT_NE(typo.find("leader_timeot"), std::string::npos) << typo;
  auto ha =
      errorOf(base + "redis: { listen: 127.0.0.1:7001, dir: /d }\nha: { fence_margin: 2s }\n");
  EXPECT_NE(ha.find("fence_margin < leader_timeout"), std::string::npos) << ha;
  auto quote = errorOf(base + "redis: { listen: 127.0.0.1:7001, dir: '/d\"x' }\n");
  EXPECT_NE(quote.find("quotes"), std::string::npos) << quote;
}

TEST(MemberConfigTest, TheFailsafeNeedsAMemberCredentialApartFromTheOperators) {
  std::string base =
      "cluster: c1\nname: m1\netcd: { endpoints: [127.0.0.1:2379] }\n"
      "redis: { listen: 127.0.0.1:7001, dir: /d }\n";
  auto root = config::loadString(base + "rest: { token: op, member_token: mem }\n", "member.yaml");
  ASSERT_TRUE(root);
  auto c = parseMemberConfig(*root);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->member_token, "mem");
  EXPECT_TRUE(c->failsafeEnabled());
  auto off_root = config::loadString(
      base + "rest: { token: op, member_token: mem }\nha: { failsafe: false }\n", "member.yaml");
  ASSERT_TRUE(off_root);
  auto off = parseMemberConfig(*off_root);
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->failsafeEnabled());
  auto same = errorOf(base + "rest: { token: t1, member_token: t1 }\n");
  EXPECT_NE(same.find("rest.member_token"), std::string::npos) << same;
  EXPECT_NE(same.find("must differ"), std::string::npos) << same;
  auto both = errorOf(base + "rest: { member_token: a, member_token_file: /f }\n");
  EXPECT_NE(both.find("not both"), std::string::npos) << both;
}

}  // namespace
}  // namespace rampart::redis

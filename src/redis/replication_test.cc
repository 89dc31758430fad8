#include "redis/replication.h"

#include <gtest/gtest.h>

namespace rampart::redis {
namespace {

Reply str(std::string s) { return Reply::string(std::move(s)); }
Reply num(int64_t v) { return Reply::integerValue(v); }
Reply arr(std::vector<Reply> items) { return Reply::array(std::move(items)); }

// ROLE as a Redis 7.0 master answered it with one replica attached.
Reply masterRole() {
  return arr({str("master"), num(1441), arr({arr({str("127.0.0.1"), str("16392"), str("1266")})})});
}

Reply replicaRole(std::string state, int64_t offset) {
  return arr({str("slave"), str("127.0.0.1"), num(16391), str(std::move(state)), num(offset)});
}

TEST(ParseRoleTest, MasterWithItsReplicasAndTheirOffsets) {
  auto role = parseRole(masterRole());
  ASSERT_TRUE(role) << role.error().message;
  auto* master = std::get_if<MasterRole>(&*role);
  ASSERT_NE(master, nullptr);
  EXPECT_EQ(master->offset, 1441);
  ASSERT_EQ(master->replicas.size(), 1u);
  EXPECT_EQ(master->replicas[0], (MasterRole::Replica{"127.0.0.1", 16392, 1266}));
}

TEST(ParseRoleTest, MasterWithoutReplicas) {
  auto role = parseRole(arr({str("master"), num(0), arr({})}));
  ASSERT_TRUE(role) << role.error().message;
  EXPECT_TRUE(std::get<MasterRole>(*role).replicas.empty());
}

TEST(ParseRoleTest, ReplicaWithEveryLinkState) {
  for (auto [text, state] :
       std::vector<std::pair<std::string, LinkState>>{{"connect", LinkState::Connect},
                                                      {"connecting", LinkState::Connecting},
                                                      {"handshake", LinkState::Handshake},
                                                      {"sync", LinkState::Sync},
                                                      {"connected", LinkState::Connected},
                                                      {"none", LinkState::None}}) {
    auto role = parseRole(replicaRole(text, 1441));
    ASSERT_TRUE(role) << text << ": " << role.error().message;
    auto replica = std::get<ReplicaRole>(*role);
    EXPECT_EQ(replica.state, state) << text;
    EXPECT_EQ(linkStateName(replica.state), text);
    EXPECT_EQ(replica.master_host, "127.0.0.1");
    EXPECT_EQ(replica.master_port, 16391);
    EXPECT_EQ(replica.offset, 1441);
  }
}

TEST(ParseRoleTest, ReplicaWithoutAMasterLinkHasNoOffsetRatherThanZero) {
  auto role = parseRole(replicaRole("connect", -1));
  ASSERT_TRUE(role) << role.error().message;
  EXPECT_EQ(std::get<ReplicaRole>(*role).offset, std::nullopt);
}

TEST(ParseRoleTest, SentinelWithItsMasterNames) {
  auto role = parseRole(arr({str("sentinel"), arr({str("mymaster"), str("other")})}));
  ASSERT_TRUE(role) << role.error().message;
  EXPECT_EQ(std::get<SentinelRole>(*role).masters, (std::vector<std::string>{"mymaster", "other"}));
}

// Each malformed reply fails naming the field at fault.
TEST(ParseRoleTest, MalformedRepliesFailNamingTheField) {
  struct Case {
    Reply reply;
    std::string field;
  };
  std::vector<Case> cases = {
      {Reply::error("ERR unknown command"), "ROLE"},
      {arr({}), "ROLE"},
      {arr({num(1)}), "ROLE role"},
      {arr({str("primary"), num(1), arr({})}), "ROLE role"},
      {arr({str("master"), num(1)}), "ROLE master"},
      {arr({str("master"), str("1"), arr({})}), "ROLE master offset"},
      {arr({str("master"), num(-5), arr({})}), "ROLE master offset"},
      {arr({str("master"), num(1), str("x")}), "ROLE master replicas"},
      {arr({str("master"), num(1), arr({arr({str("h"), str("1")})})}), "ROLE master replica"},
      {arr({str("master"), num(1), arr({arr({str(""), str("1"), str("0")})})}),
       "ROLE master replica ip"},
      {arr({str("master"), num(1), arr({arr({str("h"), str("0"), str("0")})})}),
       "ROLE master replica port"},
      {arr({str("master"), num(1), arr({arr({str("h"), str("70000"), str("0")})})}),
       "ROLE master replica port"},
      {arr({str("master"), num(1), arr({arr({str("h"), str("6379"), str("12x")})})}),
       "ROLE master replica offset"},
      {arr({str("master"), num(1), arr({arr({str("h"), str("6379"), str("")})})}),
       "ROLE master replica offset"},
      {arr({str("slave"), str("h"), num(1), str("connected")}), "ROLE slave"},
      {arr({str("slave"), str(""), num(1), str("connected"), num(0)}), "ROLE slave master host"},
      {arr({str("slave"), str("h"), str("6379"), str("connected"), num(0)}),
       "ROLE slave master port"},
      {arr({str("slave"), str("h"), num(0), str("connected"), num(0)}), "ROLE slave master port"},
      {arr({str("slave"), str("h"), num(6379), str("streaming"), num(0)}), "ROLE slave state"},
      {arr({str("slave"), str("h"), num(6379), str("connected"), str("5")}), "ROLE slave offset"},
      {arr({str("slave"), str("h"), num(6379), str("connected"), num(-2)}), "ROLE slave offset"},
      {arr({str("sentinel"), arr({num(1)})}), "ROLE sentinel master name"},
      {arr({str("sentinel"), str("m")}), "ROLE sentinel masters"},
  };
  for (const auto& c : cases) {
    auto role = parseRole(c.reply);
    ASSERT_FALSE(role) << c.field;
    EXPECT_EQ(role.error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(role.error().message.rfind(c.field + ":", 0), 0u)
        << "expected '" << c.field << ":' at the start of: " << role.error().message;
  }
}

// INFO replication as Redis 7.0 printed it (CRLF line ends), on a master and on its replica.
constexpr const char* kMasterInfo =
    "# Replication\r\n"
    "role:master\r\n"
    "connected_slaves:2\r\n"
    "slave0:ip=127.0.0.1,port=16392,state=online,offset=1266,lag=1\r\n"
    "slave1:ip=::1,port=16393,state=wait_bgsave,offset=0,lag=0\r\n"
    "master_failover_state:no-failover\r\n"
    "master_replid:14c384eb060d56432c0ea126dd96a06258ce8a96\r\n"
    "master_replid2:0000000000000000000000000000000000000000\r\n"
    "master_repl_offset:1441\r\n"
    "second_repl_offset:-1\r\n"
    "repl_backlog_active:1\r\n";

constexpr const char* kReplicaInfo =
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:127.0.0.1\r\n"
    "master_port:16391\r\n"
    "master_link_status:up\r\n"
    "master_last_io_seconds_ago:1\r\n"
    "master_sync_in_progress:0\r\n"
    "slave_read_repl_offset:1441\r\n"
    "slave_repl_offset:1441\r\n"
    "slave_priority:100\r\n"
    "slave_read_only:1\r\n"
    "replica_announced:1\r\n"
    "connected_slaves:0\r\n"
    "master_repl_offset:1441\r\n";

TEST(ParseInfoReplicationTest, MasterWithSlaveLines) {
  auto info = parseInfoReplication(kMasterInfo);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->role, InfoReplication::Kind::Master);
  EXPECT_EQ(info->master_repl_offset, 1441);
  EXPECT_EQ(info->connected_slaves, 2);
  ASSERT_EQ(info->slaves.size(), 2u);
  EXPECT_EQ(info->slaves[0], (InfoReplication::Slave{0, "127.0.0.1", 16392, "online", 1266, 1}));
  EXPECT_EQ(info->slaves[1], (InfoReplication::Slave{1, "::1", 16393, "wait_bgsave", 0, 0}));
  EXPECT_FALSE(info->slave_repl_offset);
  EXPECT_EQ(info->master_replid, "14c384eb060d56432c0ea126dd96a06258ce8a96");
}

TEST(ParseInfoReplicationTest, ReplicaWithItsLinkAndOffset) {
  auto info = parseInfoReplication(kReplicaInfo);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->role, InfoReplication::Kind::Replica);
  EXPECT_EQ(info->master_host, "127.0.0.1");
  EXPECT_EQ(info->master_port, 16391);
  EXPECT_TRUE(info->master_link_up);
  EXPECT_EQ(info->slave_repl_offset, 1441);
  EXPECT_EQ(info->connected_slaves, 0);
}

TEST(ParseInfoReplicationTest, ReplicaWithItsLinkDownAndBareNewlines) {
  std::string text = kReplicaInfo;
  text.replace(text.find("master_link_status:up"), 21, "master_link_status:down");
  std::string bare;
  for (char c : text) {
    if (c != '\r') {
      bare.push_back(c);
    }
  }
  auto info = parseInfoReplication(bare);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_FALSE(info->master_link_up);
}

TEST(ParseInfoReplicationTest, OtherSectionsOfAWholeInfoAreIgnored) {
  std::string text = std::string("# Server\r\nredis_version:7.0.15\r\nslave_x:whatever\r\n\r\n") +
                     kMasterInfo + "\r\n# CPU\r\nused_cpu_sys:0.1\r\n";
  auto info = parseInfoReplication(text);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->slaves.size(), 2u);
}

// Replaces the line starting with `key:` (or removes it when `line` is empty).
std::string withLine(std::string text, const std::string& key, const std::string& line) {
  size_t at = text.find("\r\n" + key + ":");
  EXPECT_NE(at, std::string::npos) << key;
  size_t end = text.find("\r\n", at + 2);
  text.replace(at + 2, end + 2 - (at + 2), line.empty() ? "" : line + "\r\n");
  return text;
}

TEST(ParseInfoReplicationTest, MissingOrMalformedFieldsFailNamingTheField) {
  struct Case {
    std::string text;
    std::string field;
  };
  std::string m = kMasterInfo;
  std::string r = kReplicaInfo;
  std::vector<Case> cases = {
      {withLine(m, "role", ""), "role"},
      {withLine(m, "role", "role:primary"), "role"},
      {withLine(m, "master_repl_offset", ""), "master_repl_offset"},
      {withLine(m, "master_repl_offset", "master_repl_offset:"), "master_repl_offset"},
      {withLine(m, "master_repl_offset", "master_repl_offset:12abc"), "master_repl_offset"},
      {withLine(m, "master_repl_offset", "master_repl_offset:-3"), "master_repl_offset"},
      {withLine(m, "connected_slaves", ""), "connected_slaves"},
      {withLine(m, "connected_slaves", "connected_slaves:two"), "connected_slaves"},
      {withLine(m, "slave0", "slave0:port=1,state=online,offset=1,lag=0"), "slave0.ip"},
      {withLine(m, "slave0", "slave0:ip=h,port=x,state=online,offset=1,lag=0"), "slave0.port"},
      {withLine(m, "slave0", "slave0:ip=h,port=1,offset=1,lag=0"), "slave0.state"},
      {withLine(m, "slave0", "slave0:ip=h,port=1,state=online,offset=-1,lag=0"), "slave0.offset"},
      {withLine(m, "slave0", "slave0:ip=h,port=1,state=online,offset=1"), "slave0.lag"},
      {withLine(m, "slave0", "slave0:ip=h,port=1,ip=g,state=online,offset=1,lag=0"), "slave0.ip"},
      {withLine(m, "slave0", "slave0:ip=h,port=1,garbage,offset=1,lag=0"), "slave0"},
      {withLine(m, "slave1", "slave0:ip=h,port=1,state=online,offset=1,lag=0"), "slave0"},
      {withLine(m, "master_replid", "master_repl_offset:7"), "master_repl_offset"},
      {withLine(m, "master_replid", "no colon here"), "INFO replication"},
      {withLine(m, "master_replid", "master_replid:14c384eb"), "master_replid"},
      {withLine(m, "master_replid", "master_replid:14C384EB060D56432C0EA126DD96A06258CE8A96"),
       "master_replid"},
      {withLine(r, "master_host", ""), "master_host"},
      {withLine(r, "master_port", "master_port:0"), "master_port"},
      {withLine(r, "master_port", ""), "master_port"},
      {withLine(r, "master_link_status", "master_link_status:sideways"), "master_link_status"},
      {withLine(r, "master_link_status", ""), "master_link_status"},
      {withLine(r, "slave_repl_offset", ""), "slave_repl_offset"},
      {withLine(r, "slave_repl_offset", "slave_repl_offset:1e3"), "slave_repl_offset"},
  };
  for (const auto& c : cases) {
    auto info = parseInfoReplication(c.text);
    ASSERT_FALSE(info) << c.field;
    EXPECT_EQ(info.error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(info.error().message.rfind(c.field, 0), 0u)
        << "expected '" << c.field << "' at the start of: " << info.error().message;
  }
}

TEST(ParseInfoReplicationTest, ReplicaWithoutALinkYetHasNoOffset) {
  auto info =
      parseInfoReplication(withLine(kReplicaInfo, "slave_repl_offset", "slave_repl_offset:-1"));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->slave_repl_offset, std::nullopt);
}

TEST(InfoFieldTest, FindsAWholeKeyInAnySectionWithoutItsLineEnd) {
  std::string text = std::string("# Server\r\nprocess_id:4242\r\ntcp_port:6380\r\n") + kMasterInfo;
  EXPECT_EQ(infoField(text, "tcp_port"), "6380");
  EXPECT_EQ(infoField(text, "process_id"), "4242");
  EXPECT_EQ(infoField(text, "master_replid2"), "0000000000000000000000000000000000000000");
  EXPECT_EQ(infoField(text, "tcp"), std::nullopt);  // a prefix of a key is not the key
  EXPECT_EQ(infoField(text, "run_id"), std::nullopt);
}

}  // namespace
}  // namespace rampart::redis

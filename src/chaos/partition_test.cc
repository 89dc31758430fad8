#include "chaos/partition.h"

#include <gtest/gtest.h>

namespace rampart::chaos {
namespace {

TEST(ParseProcNetTcp, ReadsPortsStateAndInode) {
  const std::string text =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        "
      "0 4242 1 0000000000000000 100 0 0 10 0\n"
      "   1: 0100007F:9C40 0100007F:094B 01 00000000:00000000 00:00000000 00000000     0        "
      "0 4343 1 0000000000000000 20 4 30 10 -1\n"
      "   2: garbage\n";
  auto sockets = parseProcNetTcp(text);
  ASSERT_EQ(sockets.size(), 2u);
  EXPECT_EQ(sockets[0].inode, 4242u);
  EXPECT_EQ(sockets[0].local_port, 5432);
  EXPECT_TRUE(sockets[0].listening);
  EXPECT_EQ(sockets[1].local_port, 40000);
  EXPECT_EQ(sockets[1].remote_port, 2379);
  EXPECT_FALSE(sockets[1].listening);
}

TEST(IsolationRuleset, DropsWhatTheGroupSendsAndWhatOthersSendToItsPortsAndConnections) {
  auto script = renderIsolationRuleset("rampart_chaos_7", 0x72610007, {5432, 8008},
                                       {{40000, 2379}, {40002, 2380}});
  EXPECT_NE(script.find("delete table inet rampart_chaos_7"), std::string::npos) << script;
  EXPECT_NE(script.find("hook output"), std::string::npos) << script;
  EXPECT_NE(script.find("meta cgroup 1918959623 drop"), std::string::npos) << script;
  EXPECT_NE(script.find("tcp dport { 5432, 8008 } drop"), std::string::npos) << script;
  EXPECT_NE(script.find("tcp dport . tcp sport { 40000 . 2379, 40002 . 2380 } drop"),
            std::string::npos)
      << script;
}

TEST(IsolationRuleset, LeavesOutEmptySets) {
  auto script = renderIsolationRuleset("t", 1, {}, {});
  EXPECT_EQ(script.find("tcp dport"), std::string::npos) << script;
  EXPECT_NE(script.find("meta cgroup 1 drop"), std::string::npos) << script;
}

}  // namespace
}  // namespace rampart::chaos

#include "failover/switchover.h"

#include <gtest/gtest.h>

namespace rampart::failover {
namespace {

MemberRecord record(const std::string& role, Position position) {
  MemberRecord m;
  m.address = Address{"127.0.0.1", 6379};
  m.role = role;
  m.position = position;
  return m;
}

TEST(ChooseTarget, TakesTheRequestedMemberOnlyWhenItIsAnotherRunningReplica) {
  std::map<std::string, MemberRecord> members{{"m1", record("primary", 90)},
                                              {"m2", record("replica", 10)},
                                              {"m3", record("stopped", 0)}};
  EXPECT_EQ(chooseTarget("m1", SwitchoverRecord{"", "m2"}, members).target, "m2")
      << "the operator's choice stands even when it lags: the wait makes it catch up";
  auto stopped = chooseTarget("m1", SwitchoverRecord{"", "m3"}, members);
  EXPECT_EQ(stopped.target, "");
  EXPECT_NE(stopped.reason.find("stopped"), std::string::npos) << stopped.reason;
  EXPECT_EQ(chooseTarget("m1", SwitchoverRecord{"", "m1"}, members).target, "");
  auto unknown = chooseTarget("m1", SwitchoverRecord{"", "m7"}, members);
  EXPECT_EQ(unknown.target, "");
  EXPECT_NE(unknown.reason.find("m7"), std::string::npos);
}

TEST(ChooseTarget, WithoutARequestedMemberTakesTheMostAdvancedReplicaAndTheSmallerNameOnATie) {
  std::map<std::string, MemberRecord> members{{"m1", record("primary", 90)},
                                              {"m2", record("replica", 50)},
                                              {"m3", record("replica", 80)},
                                              {"m4", record("replica", 80)},
                                              {"m5", record("stopped", 99)}};
  EXPECT_EQ(chooseTarget("m1", SwitchoverRecord{}, members).target, "m3");
  members.erase("m2");
  members.erase("m3");
  members.erase("m4");
  auto none = chooseTarget("m1", SwitchoverRecord{}, members);
  EXPECT_EQ(none.target, "");
  EXPECT_FALSE(none.reason.empty());
}

TEST(HandoverTxn, MovesTheKeyAndMarksTheRequestOnlyWhileTheKeyNamesTheLeaderAndTheRequestIsUnchanged) {
  SwitchoverRecord handed{"m1", "m2", false, true, 77};
  auto txn = handoverTxn("/p/leader", "/p/switchover", "m1", 40, handed);
  ASSERT_EQ(txn.compare.size(), 2u);
  EXPECT_EQ(txn.compare[0].target, store::Compare::Target::Value)
      << "by value: a heartbeat applied meanwhile changes the revision, not the holder";
  EXPECT_EQ(txn.compare[0].value, "m1");
  EXPECT_EQ(txn.compare[1].key, "/p/switchover");
  EXPECT_EQ(txn.compare[1].target, store::Compare::Target::ModRevision);
  EXPECT_EQ(txn.compare[1].number, 40);
  ASSERT_EQ(txn.success.size(), 2u);
  const auto& key = std::get<store::PutRequest>(txn.success[0]);
  EXPECT_EQ(key.key, "/p/leader");
  EXPECT_EQ(key.value, "m2");
  const auto& request = std::get<store::PutRequest>(txn.success[1]);
  EXPECT_EQ(*decodeSwitchover(request.value), handed);
  EXPECT_TRUE(txn.failure.empty());
}

}  // namespace
}  // namespace rampart::failover

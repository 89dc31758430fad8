#include "failover/leader_key.h"

#include <gtest/gtest.h>

namespace rampart::failover {
namespace {

using Kind = HeartbeatOutcome::Kind;

store::TxnResponse failedWith(std::optional<store::KeyValue> kv) {
  store::TxnResponse r;
  r.succeeded = false;
  store::RangeResponse range;
  if (kv) {
    range.kvs.push_back(*kv);
  }
  r.responses.push_back(range);
  return r;
}

TEST(InterpretHeartbeat, AnAppliedRewriteRenewsAtItsRevision) {
  store::TxnResponse r;
  r.succeeded = true;
  r.revision = 42;
  auto o = interpretHeartbeat(r, "m1");
  EXPECT_EQ(o.kind, Kind::Renewed);
  EXPECT_EQ(o.revision, 42);
}

TEST(InterpretHeartbeat, AFailedCompareThatStillFindsOurNameContinuesAtItsRevision) {
  store::KeyValue kv{"/c/leader", "m1", 3, 57, 9, 0};
  auto o = interpretHeartbeat(failedWith(kv), "m1");
  EXPECT_EQ(o.kind, Kind::StillOurs);
  EXPECT_EQ(o.revision, 57);
}

TEST(InterpretHeartbeat, AnotherHolderOrNoKeyMeansTakenOver) {
  store::KeyValue kv{"/c/leader", "m2", 3, 57, 1, 0};
  auto o = interpretHeartbeat(failedWith(kv), "m1");
  EXPECT_EQ(o.kind, Kind::TakenOver);
  EXPECT_EQ(o.holder, "m2");
  o = interpretHeartbeat(failedWith(std::nullopt), "m1");
  EXPECT_EQ(o.kind, Kind::TakenOver);
  EXPECT_EQ(o.holder, "");
  EXPECT_EQ(interpretHeartbeat(store::TxnResponse{}, "m1").kind, Kind::TakenOver);
}

TEST(LeaderKeyTxn, TakingAbsentKeyComparesItsCreationAndAPresentOneItsRevision) {
  auto absent = takeKeyTxn("/c/leader", "m2", 0);
  ASSERT_EQ(absent.compare.size(), 1u);
  EXPECT_EQ(absent.compare[0].target, store::Compare::Target::CreateRevision);
  auto present = takeKeyTxn("/c/leader", "m2", 17);
  ASSERT_EQ(present.compare.size(), 1u);
  EXPECT_EQ(present.compare[0].target, store::Compare::Target::ModRevision);
  ASSERT_EQ(present.success.size(), 1u);
  EXPECT_EQ(std::get<store::PutRequest>(present.success[0]).value, "m2");
}

TEST(LeaderKeyTxn, HeartbeatAndReleaseOnlyTouchAKeyThatNamesUs) {
  auto hb = heartbeatTxn("/c/leader", "m1", 17);
  ASSERT_EQ(hb.compare.size(), 2u);
  EXPECT_EQ(hb.compare[0].target, store::Compare::Target::Value);
  EXPECT_EQ(hb.compare[1].target, store::Compare::Target::ModRevision);
  ASSERT_EQ(hb.failure.size(), 1u);  // read back to tell "still ours" from "taken over"
  auto rel = releaseKeyTxn("/c/leader", "m1");
  ASSERT_EQ(rel.compare.size(), 1u);
  EXPECT_EQ(rel.compare[0].target, store::Compare::Target::Value);
  EXPECT_TRUE(std::holds_alternative<store::DeleteRequest>(rel.success.at(0)));
}

}  // namespace
}  // namespace rampart::failover

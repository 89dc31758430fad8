// The store layer against a real etcd: KV, transactions, leases, compaction, and etcd down.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "etcd_fixture.h"
#include "testing/silent_listener.h"
#include "store/lease_keeper.h"

namespace rampart::store {
namespace {

using namespace std::chrono_literals;
using testing::EtcdTest;

TEST_F(EtcdTest, KvAndTxnComparesBehaveAsEtcdDefinesThem) {
  auto put = run(store_->put(PutRequest{.key = "/t/a", .value = "1"}));
  ASSERT_TRUE(put) << put.error().message;
  ASSERT_TRUE(run(store_->put(PutRequest{.key = "/t/b", .value = "2"})));
  ASSERT_TRUE(run(store_->put(PutRequest{.key = "/u", .value = "3"})));
  auto prefix = run(store_->range(RangeRequest::prefix("/t/")));
  ASSERT_TRUE(prefix);
  ASSERT_EQ(prefix->kvs.size(), 2u);
  EXPECT_EQ(prefix->kvs[0].value, "1");
  EXPECT_EQ(prefix->kvs[0].create_revision, put->revision);

  auto limited = run(store_->range(RangeRequest{.key = "/t/", .range_end = prefixEnd("/t/"),
                                                .limit = 1, .serializable = true}));
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->kvs.size(), 1u);
  EXPECT_TRUE(limited->more);

  auto old = run(store_->range(RangeRequest{.key = "/t/a", .revision = put->revision - 1}));
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->kvs.empty()) << "the key did not exist before its first put";

  // Compare on value and mod_revision: only the up-to-date writer may update.
  TxnRequest cas;
  cas.compare.push_back(Compare::valueIs("/t/a", Compare::Op::Equal, "1"));
  cas.compare.push_back(Compare::modRevision("/t/a", Compare::Op::Equal, put->revision));
  cas.success.push_back(PutRequest{.key = "/t/a", .value = "1b", .prev_kv = true});
  cas.failure.push_back(RangeRequest::single("/t/a"));
  auto first = run(store_->txn(cas));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->succeeded);
  EXPECT_EQ(std::get<PutResponse>(first->responses.at(0)).prev_kv->value, "1");
  auto second = run(store_->txn(cas));
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->succeeded);
  EXPECT_EQ(std::get<RangeResponse>(second->responses.at(0)).kvs.at(0).value, "1b");

  TxnRequest by_version;
  by_version.compare.push_back(Compare::version("/t/a", Compare::Op::Greater, 1));
  by_version.compare.push_back(Compare::lease("/t/a", Compare::Op::Equal, 0));
  by_version.success.push_back(DeleteRequest{.key = "/t/", .range_end = prefixEnd("/t/"),
                                             .prev_kv = true});
  auto deleted = run(store_->txn(by_version));
  ASSERT_TRUE(deleted);
  EXPECT_TRUE(deleted->succeeded);
  EXPECT_EQ(std::get<DeleteResponse>(deleted->responses.at(0)).deleted, 2);
}

TEST_F(EtcdTest, LeaseExpiryRemovesTheKey) {
  auto lease = run(store_->leaseGrant(1s));
  ASSERT_TRUE(lease) << lease.error().message;
  EXPECT_EQ(lease->ttl, 1s);
  ASSERT_TRUE(run(store_->put(PutRequest{.key = "/ephemeral", .value = "x", .lease = lease->id})));
  EXPECT_EQ(run(store_->range(RangeRequest::single("/ephemeral")))->kvs.size(), 1u);
  // Without keep-alive the key must go: etcd deletes it 1-1.5 s after the grant. Bounded poll.
  bool gone = false;
  for (int i = 0; i < 60 && !gone; ++i) {
    pump(50ms);
    gone = run(store_->range(RangeRequest::single("/ephemeral")))->kvs.empty();
  }
  EXPECT_TRUE(gone);
  auto ttl = run(store_->leaseTimeToLive(lease->id, false));
  ASSERT_TRUE(ttl);
  EXPECT_EQ(ttl->ttl, -1s) << "etcd reports an expired lease with TTL -1";
}

TEST_F(EtcdTest, KeepAliveKeepsTheKeyAndMovesTheFencingDeadline) {
  LeaseKeeper keeper(*store_, io_.get_executor());
  auto lease = run(keeper.grantAndKeep(1s));
  ASSERT_TRUE(lease) << lease.error().message;
  ASSERT_TRUE(run(store_->put(PutRequest{.key = "/kept", .value = "x", .lease = (*lease)->id()})));
  auto first_deadline = (*lease)->deadline();
  pump(3s);  // three TTLs
  EXPECT_FALSE((*lease)->lost());
  EXPECT_EQ(run(store_->range(RangeRequest::single("/kept")))->kvs.size(), 1u);
  EXPECT_GT((*lease)->deadline(), first_deadline + 1s);
  // The deadline never runs ahead of etcd: it is at most one TTL from now.
  EXPECT_LE((*lease)->deadline(), std::chrono::steady_clock::now() + 1s);
  auto ttl = run(store_->leaseTimeToLive((*lease)->id(), true));
  ASSERT_TRUE(ttl);
  EXPECT_EQ(ttl->keys, std::vector<std::string>{"/kept"});
  (*lease)->stop();
}

TEST_F(EtcdTest, RevokeRemovesTheKeyAtOnce) {
  auto lease = run(store_->leaseGrant(60s));
  ASSERT_TRUE(lease);
  ASSERT_TRUE(run(store_->put(PutRequest{.key = "/r", .value = "x", .lease = lease->id})));
  ASSERT_TRUE(run(store_->leaseRevoke(lease->id)));
  EXPECT_TRUE(run(store_->range(RangeRequest::single("/r")))->kvs.empty());
  auto again = run(store_->leaseRevoke(lease->id));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::NotFound);
}

TEST_F(EtcdTest, CompactionPastAWatchersRevisionSignalsRelist) {
  auto first = run(store_->put(PutRequest{.key = "/c", .value = "1"}));
  ASSERT_TRUE(run(store_->put(PutRequest{.key = "/c", .value = "2"})));
  auto third = run(store_->put(PutRequest{.key = "/c", .value = "3"}));
  ASSERT_TRUE(run(store_->compact(third->revision)));
  auto watch = store_->watch(WatchRequest{.key = "/c", .start_revision = first->revision});
  auto batch = run(watch->next(5s));
  ASSERT_TRUE(batch) << batch.error().message;
  EXPECT_TRUE(batch->compacted);
  EXPECT_EQ(batch->compact_revision, third->revision);
  auto after = run(watch->next(10ms));
  ASSERT_FALSE(after);
  // Reading the compacted revision is OutOfRange, the latest is fine.
  auto past = run(store_->range(RangeRequest{.key = "/c", .revision = first->revision}));
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, ErrorCode::OutOfRange);
}

TEST_F(EtcdTest, EtcdEntirelyDownFailsWithinTheDeadlineNamingEndpoints) {
  auto endpoints = cluster_->clientEndpoints();
  cluster_->stop();
  auto store = makeStore(endpoints, 500ms);
  auto start = std::chrono::steady_clock::now();
  auto r = run(store->range(RangeRequest::single("/x")));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Unavailable);
  EXPECT_NE(r.error().message.find(endpoints[0].toString()), std::string::npos)
      << r.error().message;
  EXPECT_LT(took, 2s) << "bounded by the 500 ms request timeout plus scheduling slack";
}

TEST_F(EtcdTest, ASingleKeyReadSkipsMembersThatDoNotAnswerWithinItsFirstAttempt) {
  // Two members that accept and never answer (as one waiting on a leader that is gone), then a
  // live one. Each hung member's share of 3 s is 1 s: without the short first round the read
  // would take 2 s; with it (200 ms each) it is answered after about 0.4 s.
  testing::SilentListener hung1, hung2;
  ASSERT_TRUE(hung1.port && hung2.port);
  ASSERT_TRUE(run(store_->put(PutRequest{.key = "/k", .value = "v"})));
  std::vector<net::Endpoint> endpoints = {{"127.0.0.1", hung1.port}, {"127.0.0.1", hung2.port}};
  endpoints.push_back(cluster_->clientEndpoints().at(0));
  auto store = makeStore(endpoints, 3s);
  auto start = std::chrono::steady_clock::now();
  auto r = run(store->range(RangeRequest::single("/k")));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value, "v");
  EXPECT_LT(took, 1s) << "each hung member got its whole share instead of the short first try";
}

TEST_F(EtcdTest, KeepAliveReportsLossWhenEtcdGoesAway) {
  LeaseKeeper keeper(*store_, io_.get_executor());
  auto lease = run(keeper.grantAndKeep(1s));
  ASSERT_TRUE(lease);
  pump(200ms);
  cluster_->stop();
  auto stopped_at = std::chrono::steady_clock::now();
  for (int i = 0; i < 100 && !(*lease)->lost(); ++i) {
    pump(50ms);
  }
  ASSERT_TRUE((*lease)->lost());
  // Declared lost at the deadline (at most one TTL after the last renewal), not later.
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 2s);
}

}  // namespace
}  // namespace rampart::store

#include "store/memory_store.h"

#include <gtest/gtest.h>

#include "base/fake_clock.h"
#include "testing/run_loop.h"

namespace rampart::store {
namespace {

using namespace std::chrono_literals;
using testing::runLoop;
namespace asio = boost::asio;

class MemoryStoreTest : public ::testing::Test {
 protected:
  template <typename T>
  T run(asio::awaitable<T> work) {
    return runLoop(io_, std::move(work));
  }
  Result<PutResponse> put(std::string k, std::string v, LeaseId lease = 0) {
    return run(store_.put(PutRequest{.key = std::move(k), .value = std::move(v), .lease = lease}));
  }
  Result<RangeResponse> get(std::string k) { return run(store_.range(RangeRequest::single(k))); }

  asio::io_context io_;
  FakeClock clock_;
  MemoryStore store_{io_.get_executor(), clock_};
};

TEST_F(MemoryStoreTest, PutsAdvanceRevisionsAndVersionsLikeEtcd) {
  auto first = put("/k", "a");
  auto second = put("/k", "b");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->revision, first->revision + 1);
  auto kv = get("/k")->kvs.at(0);
  EXPECT_EQ(kv.value, "b");
  EXPECT_EQ(kv.version, 2);
  EXPECT_EQ(kv.create_revision, first->revision);
  EXPECT_EQ(kv.mod_revision, second->revision);
}

TEST_F(MemoryStoreTest, PrefixRangeHonoursLimitAndHistoricalRevision) {
  auto r1 = put("/p/a", "1");
  put("/p/b", "2");
  put("/q", "3");
  put("/p/a", "changed");
  auto all = run(store_.range(RangeRequest::prefix("/p/")));
  EXPECT_EQ(all->count, 2);
  auto limited = run(store_.range(RangeRequest{.key = "/p/", .range_end = prefixEnd("/p/"),
                                               .limit = 1}));
  EXPECT_EQ(limited->kvs.size(), 1u);
  EXPECT_TRUE(limited->more);
  auto old = run(store_.range(RangeRequest{.key = "/p/a", .revision = r1->revision}));
  EXPECT_EQ(old->kvs.at(0).value, "1");
}

TEST_F(MemoryStoreTest, TxnCreateOnlyIfAbsentSucceedsOnce) {
  auto make = [] {
    TxnRequest t;
    t.compare.push_back(Compare::createRevision("/lock", Compare::Op::Equal, 0));
    t.success.push_back(PutRequest{.key = "/lock", .value = "me"});
    t.failure.push_back(RangeRequest::single("/lock"));
    return t;
  };
  auto first = run(store_.txn(make()));
  auto second = run(store_.txn(make()));
  EXPECT_TRUE(first->succeeded);
  EXPECT_FALSE(second->succeeded);
  EXPECT_EQ(std::get<RangeResponse>(second->responses.at(0)).kvs.at(0).value, "me");
}

TEST_F(MemoryStoreTest, LeaseExpiryOnTheClockDeletesAttachedKeys) {
  auto lease = run(store_.leaseGrant(2s));
  put("/leased", "x", lease->id);
  clock_.advance(1500ms);
  EXPECT_EQ(store_.expireLeases(), 0);
  ASSERT_TRUE(run(store_.leaseKeepAliveOnce(lease->id)));
  clock_.advance(1500ms);
  EXPECT_EQ(get("/leased")->kvs.size(), 1u) << "the keep-alive extended the lease";
  clock_.advance(1s);
  EXPECT_TRUE(get("/leased")->kvs.empty());
  auto renew = run(store_.leaseKeepAliveOnce(lease->id));
  ASSERT_FALSE(renew);
  EXPECT_EQ(renew.error().code, ErrorCode::NotFound);
}

TEST_F(MemoryStoreTest, RevokeDeletesKeysAtOnce) {
  auto lease = run(store_.leaseGrant(60s));
  put("/a", "1", lease->id);
  put("/b", "2", lease->id);
  ASSERT_TRUE(run(store_.leaseRevoke(lease->id)));
  EXPECT_TRUE(get("/a")->kvs.empty());
  EXPECT_TRUE(get("/b")->kvs.empty());
}

TEST_F(MemoryStoreTest, WatchFromPastRevisionReplaysEveryEventInOrder) {
  auto first = put("/w/1", "a");
  put("/w/2", "b");
  run(store_.deleteRange(DeleteRequest{.key = "/w/1"}));
  auto watch = store_.watch(WatchRequest::prefix("/w/", first->revision));
  auto batch = run(watch->next(1s));
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->events.size(), 3u);
  EXPECT_EQ(batch->events[0].kv.key, "/w/1");
  EXPECT_EQ(batch->events[2].type, WatchEvent::Type::Delete);
  put("/w/3", "c");
  auto later = run(watch->next(1s));
  ASSERT_EQ(later->events.size(), 1u);
  EXPECT_EQ(later->events[0].kv.key, "/w/3");
}

TEST_F(MemoryStoreTest, WatchBelowCompactionSignalsRelist) {
  auto first = put("/c", "1");
  put("/c", "2");
  auto third = put("/c", "3");
  ASSERT_TRUE(run(store_.compact(third->revision)));
  auto watch = store_.watch(WatchRequest{.key = "/c", .start_revision = first->revision});
  auto batch = run(watch->next(1s));
  ASSERT_TRUE(batch);
  EXPECT_TRUE(batch->compacted);
  EXPECT_EQ(batch->compact_revision, third->revision);
}

TEST_F(MemoryStoreTest, QuietWatchReturnsAnEmptyBatchAfterMaxWait) {
  auto watch = store_.watch(WatchRequest{.key = "/nothing"});
  auto batch = run(watch->next(10ms));
  ASSERT_TRUE(batch);
  EXPECT_TRUE(batch->events.empty());
  EXPECT_FALSE(batch->compacted);
}

TEST_F(MemoryStoreTest, UnavailableStoreFailsEveryCall) {
  store_.setUnavailable(true);
  auto r = get("/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Unavailable);
}

}  // namespace
}  // namespace rampart::store

#include "store/lease_keeper.h"

#include <gtest/gtest.h>

#include "base/fake_clock.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"

namespace rampart::store {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

TEST(LeaseClock, DeadlineCountsFromTheSendTimeOfTheLastAcknowledgedRenewal) {
  TimePoint t0{};
  LeaseClock c(3s, t0);
  EXPECT_EQ(c.deadline(), t0 + 3s);
  EXPECT_EQ(c.nextRenewal(), t0 + 1s);
  // Sent at t0+1s, answered much later: the deadline still counts from the send.
  c.onRenewed(t0 + 1s, 3s);
  EXPECT_EQ(c.deadline(), t0 + 4s);
  EXPECT_FALSE(c.expired(t0 + 3999ms));
  EXPECT_TRUE(c.expired(t0 + 4s));
}

TEST(LeaseClock, OneSecondLeasesRenewEveryThirdOfASecond) {
  TimePoint t0{};
  LeaseClock c(1s, t0);
  EXPECT_EQ(c.nextRenewal(), t0 + Duration(1s) / 3);
  c.onRenewed(t0 + 300ms, 1s);
  EXPECT_EQ(c.nextRenewal(), t0 + 300ms + Duration(1s) / 3);
}

TEST(LeaseClock, AStaleAcknowledgementNeverMovesTheDeadlineBack) {
  TimePoint t0{};
  LeaseClock c(3s, t0);
  c.onRenewed(t0 + 2s, 3s);
  c.onRenewed(t0 + 1s, 3s);  // an older renewal answered last
  EXPECT_EQ(c.deadline(), t0 + 5s);
}

TEST(LeaseClock, FailedRenewalRetriesSoonButNeverPastTheDeadline) {
  TimePoint t0{};
  LeaseClock c(1s, t0);
  c.onRenewFailed(t0 + 900ms);
  EXPECT_LE(c.nextRenewal(), t0 + 1s);
  EXPECT_GT(c.nextRenewal(), t0 + 900ms);
}

// Runs the loop until `done` or `limit` of real time passes.
template <typename Pred>
void runUntil(asio::io_context& io, Pred done, Duration limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(5ms);
    io.restart();
  }
}

TEST(LeaseKeeper, KeepsTheLeaseAliveAcrossSeveralTtls) {
  asio::io_context io;
  FakeClock store_clock;  // the store's expiry clock; advanced by hand below
  MemoryStore store(io.get_executor(), store_clock);
  LeaseKeeper keeper(store, io.get_executor());
  auto lease = testing::runLoop(io, keeper.grantAndKeep(1s));
  ASSERT_TRUE(lease);
  auto first_deadline = (*lease)->deadline();
  // Let a few renewals happen, advancing the store's clock by less than the TTL in between.
  for (int i = 0; i < 3; ++i) {
    runUntil(io, [] { return false; }, 400ms);
    store_clock.advance(400ms);
  }
  EXPECT_FALSE((*lease)->lost());
  EXPECT_GT((*lease)->deadline(), first_deadline);
  (*lease)->stop();
}

TEST(LeaseKeeper, ReportsLostPromptlyWhenTheLeaseIsRevoked) {
  asio::io_context io;
  FakeClock store_clock;
  MemoryStore store(io.get_executor(), store_clock);
  LeaseKeeper keeper(store, io.get_executor());
  auto lease = testing::runLoop(io, keeper.grantAndKeep(1s));
  ASSERT_TRUE(lease);
  std::string reason;
  (*lease)->onLost([&](const std::string& r) { reason = r; });
  ASSERT_TRUE(testing::runLoop(io, store.leaseRevoke((*lease)->id())));
  runUntil(io, [&] { return (*lease)->lost(); }, 2s);
  EXPECT_TRUE((*lease)->lost());
  EXPECT_NE(reason.find("no longer exists"), std::string::npos) << reason;
}

TEST(LeaseKeeper, DeclaresLossAtTheDeadlineWhenTheStoreIsUnreachable) {
  asio::io_context io;
  FakeClock store_clock;
  MemoryStore store(io.get_executor(), store_clock);
  LeaseKeeper keeper(store, io.get_executor());
  auto lease = testing::runLoop(io, keeper.grantAndKeep(1s));
  ASSERT_TRUE(lease);
  store.setUnavailable(true);
  auto deadline = (*lease)->deadline();
  runUntil(io, [&] { return (*lease)->lost(); }, 3s);
  ASSERT_TRUE((*lease)->lost());
  // Lost no earlier than the deadline (fencing must not fire early for nothing) and promptly.
  EXPECT_GE(std::chrono::steady_clock::now(), deadline);
  EXPECT_NE((*lease)->lostReason().find("within the TTL"), std::string::npos);
}

}  // namespace
}  // namespace rampart::store

#include "agent/podnet/allocator.h"

#include <gtest/gtest.h>

namespace rampart::agent::podnet {
namespace {

Ipv4 ip(const char* text) { return *parseIpv4(text); }

IpAllocator allocatorFor(const char* cidr) { return IpAllocator(*parseCidr(cidr)); }

TEST(IpAllocator, HandsOutPodAddressesAfterTheGatewayAndKeepsAPodsAddress) {
  auto alloc = allocatorFor("10.64.3.0/24");
  EXPECT_EQ(alloc.allocate("a"), ip("10.64.3.2"));
  EXPECT_EQ(alloc.allocate("b"), ip("10.64.3.3"));
  EXPECT_EQ(alloc.allocate("a"), ip("10.64.3.2")) << "a pod keeps its address";
  EXPECT_EQ(alloc.held(), 2u);
  EXPECT_EQ(alloc.addressOf("b"), ip("10.64.3.3"));
  EXPECT_FALSE(alloc.addressOf("c"));
  EXPECT_EQ(alloc.capacity(), 253u);
}

TEST(IpAllocator, AReleasedAddressIsReusedOnlyAfterEveryUnusedOne) {
  auto alloc = allocatorFor("10.64.3.0/29");  // pods .2 … .6
  ASSERT_EQ(alloc.allocate("a"), ip("10.64.3.2"));
  ASSERT_EQ(alloc.allocate("b"), ip("10.64.3.3"));
  alloc.release("a");
  EXPECT_EQ(alloc.allocate("c"), ip("10.64.3.4")) << "not a's old address";
  EXPECT_EQ(alloc.allocate("d"), ip("10.64.3.5"));
  EXPECT_EQ(alloc.allocate("e"), ip("10.64.3.6"));
  EXPECT_EQ(alloc.allocate("f"), ip("10.64.3.2")) << "only now, with nothing unused left";
}

TEST(IpAllocator, ReleasedAddressesComeBackLeastRecentlyReleasedFirst) {
  auto alloc = allocatorFor("10.64.3.0/29");
  for (const char* pod : {"a", "b", "c", "d", "e"}) {
    ASSERT_TRUE(alloc.allocate(pod));
  }
  alloc.release("d");  // .5
  alloc.release("b");  // .3
  alloc.release("e");  // .6
  EXPECT_EQ(alloc.allocate("x"), ip("10.64.3.5"));
  EXPECT_EQ(alloc.allocate("y"), ip("10.64.3.3"));
  EXPECT_EQ(alloc.allocate("z"), ip("10.64.3.6"));
}

TEST(IpAllocator, AFullRangeRefusesAndReleasingFreesOne) {
  auto alloc = allocatorFor("10.64.3.0/30");  // one pod: .2
  ASSERT_EQ(alloc.allocate("a"), ip("10.64.3.2"));
  auto full = alloc.allocate("b");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::FailedPrecondition);
  alloc.release("a");
  EXPECT_EQ(alloc.allocate("b"), ip("10.64.3.2"));
  alloc.release("nobody");  // unknown: no-op
  EXPECT_EQ(alloc.held(), 1u);
}

TEST(IpAllocator, RestoredAddressesAreNeverHandedOutAgain) {
  auto alloc = allocatorFor("10.64.3.0/29");
  ASSERT_TRUE(alloc.restore("old-1", ip("10.64.3.2")));
  ASSERT_TRUE(alloc.restore("old-2", ip("10.64.3.4")));
  EXPECT_EQ(alloc.allocate("new-1"), ip("10.64.3.5")) << "after the highest restored";
  EXPECT_EQ(alloc.allocate("new-2"), ip("10.64.3.6"));
  EXPECT_EQ(alloc.allocate("new-3"), ip("10.64.3.3")) << "wraps to the one never used";
  EXPECT_FALSE(alloc.allocate("new-4")) << ".2 and .4 are still held";
  EXPECT_EQ(alloc.addressOf("old-1"), ip("10.64.3.2"));
}

TEST(IpAllocator, RestoreRefusesAddressesOutsideThePodsOrHeldByAnother) {
  auto alloc = allocatorFor("10.64.3.0/24");
  EXPECT_EQ(alloc.restore("a", ip("10.64.3.1")).error().code, ErrorCode::InvalidArgument)
      << "the gateway";
  EXPECT_FALSE(alloc.restore("a", ip("10.64.3.0")));
  EXPECT_FALSE(alloc.restore("a", ip("10.64.3.255")));
  EXPECT_FALSE(alloc.restore("a", ip("10.64.4.2")));
  ASSERT_TRUE(alloc.restore("a", ip("10.64.3.7")));
  EXPECT_TRUE(alloc.restore("a", ip("10.64.3.7"))) << "again, same pod: ok";
  EXPECT_EQ(alloc.restore("b", ip("10.64.3.7")).error().code, ErrorCode::AlreadyExists);
  EXPECT_EQ(alloc.restore("a", ip("10.64.3.8")).error().code, ErrorCode::AlreadyExists);
  EXPECT_EQ(alloc.held(), 1u);
}

TEST(IpAllocator, RestoringAReleasedAddressTakesItOutOfTheReuseQueue) {
  auto alloc = allocatorFor("10.64.3.0/30");
  ASSERT_TRUE(alloc.allocate("a"));
  alloc.release("a");
  ASSERT_TRUE(alloc.restore("b", ip("10.64.3.2")));
  EXPECT_FALSE(alloc.allocate("c")) << "the only address is b's now";
}

}  // namespace
}  // namespace rampart::agent::podnet

#include "agent/lease_schedule.h"

#include <map>

#include <gtest/gtest.h>

namespace rampart::agent {
namespace {
using std::chrono::milliseconds;

TEST(LeaseSchedule, RenewalsAreSpreadEvenlyOverTheInterval) {
  TimePoint start{};
  LeaseSchedule schedule(1000, milliseconds(200), start);
  // 1,000 nodes over 200 ms: 5 per millisecond, never all at once.
  EXPECT_EQ(schedule.due(start).size(), 1u);
  size_t most = 0;
  for (int ms = 1; ms < 200; ++ms) {
    most = std::max(most, schedule.due(start + milliseconds(ms)).size());
  }
  EXPECT_LE(most, 5u);
  EXPECT_EQ(schedule.nextDue(), start + milliseconds(199) + std::chrono::microseconds(200));
}

TEST(LeaseSchedule, EveryNodeIsDueOncePerInterval) {
  TimePoint start{};
  LeaseSchedule schedule(300, milliseconds(100), start);
  std::map<int, int> count;
  // Ten intervals, looked at every 100 µs.
  for (int us = 0; us < 1000000; us += 100) {
    for (int node : schedule.due(start + std::chrono::microseconds(us))) {
      ++count[node];
    }
  }
  ASSERT_EQ(count.size(), 300u);
  for (auto [node, n] : count) {
    EXPECT_EQ(n, 10) << "node " << node;
  }
  EXPECT_EQ(schedule.skipped(), 0);
}

TEST(LeaseSchedule, ASlippedNodeRenewsOnceAndKeepsItsPhase) {
  TimePoint start{};
  LeaseSchedule schedule(2, milliseconds(100), start);  // node 1's phase: +50 ms
  auto late = schedule.due(start + milliseconds(370));
  EXPECT_EQ(late.size(), 2u) << "each node once, however late";
  // Node 0 missed 300 and 200 and 100 ... slots 0,100,200,300 were due: 3 skipped; node 1:
  // 50,150,250,350: 3 skipped.
  EXPECT_EQ(schedule.skipped(), 6);
  EXPECT_EQ(schedule.nextDue(), start + milliseconds(400));
  EXPECT_EQ(schedule.due(start + milliseconds(400)), std::vector<int>{0});
  EXPECT_EQ(schedule.due(start + milliseconds(450)), std::vector<int>{1});
}

}  // namespace
}  // namespace rampart::agent

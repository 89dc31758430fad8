#include "lb/picker.h"

#include <map>

#include <gtest/gtest.h>

namespace rampart::lb {
namespace {

std::vector<BackendView> three() {
  return {BackendView{hashBytes("a"), 1, 0, 0, true}, BackendView{hashBytes("b"), 1, 0, 0, true},
          BackendView{hashBytes("c"), 1, 0, 0, true}};
}

TEST(Picker, RoundRobinCyclesAndListsTheOthersForRetry) {
  auto b = three();
  EXPECT_EQ(connectOrder(Policy::RoundRobin, b, 0, 0), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(connectOrder(Policy::RoundRobin, b, 1, 0), (std::vector<size_t>{1, 2, 0}));
  EXPECT_EQ(connectOrder(Policy::RoundRobin, b, 5, 0), (std::vector<size_t>{2, 0, 1}));
}

TEST(Picker, RoundRobinHonoursWeights) {
  auto b = three();
  b[0].weight = 3;
  std::map<size_t, int> firsts;
  for (uint64_t c = 0; c < 500; ++c) {
    ++firsts[connectOrder(Policy::RoundRobin, b, c, 0).front()];
  }
  EXPECT_EQ(firsts[0], 300);
  EXPECT_EQ(firsts[1], 100);
  EXPECT_EQ(firsts[2], 100);
}

TEST(Picker, DownZeroWeightAndFullBackendsAreNeverTried) {
  auto b = three();
  b[0].usable = false;
  b[1].weight = 0;
  b[2].max_connections = 2;
  b[2].active = 2;
  EXPECT_TRUE(connectOrder(Policy::RoundRobin, b, 0, 0).empty());
  b[2].active = 1;
  EXPECT_EQ(connectOrder(Policy::LeastConnections, b, 0, 0), (std::vector<size_t>{2}));
}

TEST(Picker, LeastConnectionsPrefersTheLeastLoadedPerWeight) {
  auto b = three();
  b[0].active = 5;
  b[1].active = 2;
  b[2].active = 3;
  b[2].weight = 2;  // 1.5 per unit of weight
  EXPECT_EQ(connectOrder(Policy::LeastConnections, b, 0, 0), (std::vector<size_t>{2, 1, 0}));
}

TEST(Picker, SourceHashIsStickyAndMovesOnlyTheClientsOfARemovedBackend) {
  auto b = three();
  std::map<uint64_t, size_t> before;
  for (uint64_t client = 0; client < 300; ++client) {
    auto h = hashBytes("10.0.0." + std::to_string(client));
    before[h] = connectOrder(Policy::SourceHash, b, 0, h).front();
    EXPECT_EQ(connectOrder(Policy::SourceHash, b, 99, h).front(), before[h]) << "sticky";
  }
  std::map<size_t, int> spread;
  for (auto& [h, i] : before) {
    ++spread[i];
  }
  for (auto& [i, n] : spread) {
    EXPECT_GT(n, 60) << "roughly even over three backends";
  }
  b[1].usable = false;
  for (auto& [h, i] : before) {
    auto now = connectOrder(Policy::SourceHash, b, 0, h).front();
    if (i != 1) {
      EXPECT_EQ(now, i) << "clients of surviving backends stay";
    } else {
      EXPECT_NE(now, 1u);
    }
  }
}

TEST(Picker, PolicyNamesIncludeLvscareSchedulers) {
  EXPECT_EQ(*parsePolicy("rr"), Policy::RoundRobin);
  EXPECT_EQ(*parsePolicy("lc"), Policy::LeastConnections);
  EXPECT_EQ(*parsePolicy("sh"), Policy::SourceHash);
  EXPECT_FALSE(parsePolicy("random"));
}

}  // namespace
}  // namespace rampart::lb

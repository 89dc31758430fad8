#include "failover/history.h"

#include <gtest/gtest.h>

namespace rampart::failover {
namespace {

FailoverEvent event(int n) {
  return FailoverEvent{"failover", "m1", "m2", "leader key released", "the most advanced",
                       1000 + n, 1001 + n, 1002 + n};
}

TEST(FailoverHistory, AnEventRoundTripsEveryField) {
  auto back = decodeEvent(encodeEvent(event(7)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, event(7));
}

TEST(FailoverHistory, KeepsTheNewestTwentyInOrder) {
  std::vector<FailoverEvent> events;
  for (int i = 0; i < 25; ++i) {
    auto h = decodeHistory(appendEvent(events, event(i)));
    ASSERT_TRUE(h);
    events = *h;
  }
  ASSERT_EQ(events.size(), kHistoryLength);
  EXPECT_EQ(events.front(), event(5));
  EXPECT_EQ(events.back(), event(24));
  EXPECT_EQ(encodeHistory({}), "[]");
}

TEST(FailoverHistory, RejectsMistypedEventsAndSkipsThemInAHistory) {
  for (const char* bad : {"not json", "[]", R"({"kind": 1})", R"({"detected_at_ms": 1.5})",
                          R"({"promoted_at_ms": 1.7e24})", R"({"decided_at_ms": "now"})",
                          R"({"promoted_at_ms": 18446744073709551615})"}) {
    EXPECT_FALSE(decodeEvent(bad)) << bad;
  }
  auto h = decodeHistory(R"([{"kind": "failover", "new_leader": "m2"}, {"kind": 7}, 3])");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].new_leader, "m2");
  EXPECT_FALSE(decodeHistory(R"({"kind": "failover"})"));
}

}  // namespace
}  // namespace rampart::failover

#include "base/duration.h"

#include <gtest/gtest.h>

namespace rampart {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesUnitsOperatorsWrite) {
  EXPECT_EQ(*parseDuration("100ms"), 100ms);
  EXPECT_EQ(*parseDuration("1.5s"), 1500ms);
  EXPECT_EQ(*parseDuration("2m"), 120s);
  EXPECT_EQ(*parseDuration("250us"), 250us);
  EXPECT_EQ(*parseDuration("1h"), 3600s);
}

TEST(Duration, PlainNumberMeansSecondsLikeLvscare) { EXPECT_EQ(*parseDuration("5"), 5s); }

TEST(Duration, RejectsGarbageWithAMessageNamingTheText) {
  auto bad = parseDuration("fast");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'fast'"), std::string::npos);
  auto unit = parseDuration("5parsecs");
  ASSERT_FALSE(unit);
  EXPECT_NE(unit.error().message.find("unknown unit 'parsecs'"), std::string::npos);
  EXPECT_FALSE(parseDuration(""));
  EXPECT_FALSE(parseDuration("-1s"));
}

TEST(Duration, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(formatDuration(2s), "2s");
  EXPECT_EQ(formatDuration(1500ms), "1500ms");
  EXPECT_EQ(formatDuration(7us), "7us");
}

}  // namespace
}  // namespace rampart

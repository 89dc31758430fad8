#include "api/quantity.h"

#include <gtest/gtest.h>

namespace rampart::api {
namespace {

int64_t milli(std::string_view text) {
  auto q = parseQuantity(text);
  EXPECT_TRUE(q) << text << ": " << (q ? "" : q.error().message);
  return q ? q->milli() : -1;
}

TEST(Quantity, CpuInCoresAndMillicores) {
  EXPECT_EQ(milli("1"), 1000);
  EXPECT_EQ(milli("250m"), 250);
  EXPECT_EQ(milli("0.5"), 500);
  EXPECT_EQ(milli(".1"), 100);
  EXPECT_EQ(milli("+2"), 2000);
}

TEST(Quantity, MemoryWithBinaryAndDecimalSuffixes) {
  EXPECT_EQ(milli("1Ki"), 1024'000);
  EXPECT_EQ(milli("128Mi"), int64_t{128} * 1024 * 1024 * 1000);
  EXPECT_EQ(milli("1.5Gi"), int64_t{3} * 512 * 1024 * 1024 * 1000);
  EXPECT_EQ(milli("129M"), int64_t{129'000'000} * 1000);
  EXPECT_EQ(milli("129e6"), int64_t{129'000'000} * 1000);
  EXPECT_EQ(milli("1k"), 1000'000);
}

TEST(Quantity, FinerThanAThousandthRoundsUp) {
  EXPECT_EQ(milli("1u"), 1);
  EXPECT_EQ(milli("1500n"), 1);
  EXPECT_EQ(milli("0.0001"), 1);
  EXPECT_EQ(parseQuantity("1500m")->units(), 2);
}

TEST(Quantity, MalformedAndOutOfRangeTextIsRejected) {
  for (const char* bad : {"", "m", "1.2.3", "1Qi", "abc", "1 Gi", "1e", "1e100", "--1", "1mm"}) {
    EXPECT_FALSE(parseQuantity(bad)) << bad;
  }
  EXPECT_FALSE(parseQuantity("9Ei"));
}

TEST(Quantity, CanonicalText) {
  EXPECT_EQ(parseQuantity("250m")->toString(), "250m");
  EXPECT_EQ(parseQuantity("2")->toString(), "2");
  EXPECT_EQ(parseQuantity("1024Mi")->toString(), "1Gi");
  EXPECT_EQ(parseQuantity("1000")->toString(), "1000");
}

TEST(Quantity, ArithmeticAndOrdering) {
  Quantity a = *parseQuantity("1");
  Quantity b = *parseQuantity("500m");
  EXPECT_LT(b, a);
  EXPECT_EQ((a + b).milli(), 1500);
  EXPECT_EQ((a - b).milli(), 500);
}

}  // namespace
}  // namespace rampart::api

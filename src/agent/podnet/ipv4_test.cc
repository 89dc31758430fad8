#include "agent/podnet/ipv4.h"

#include <gtest/gtest.h>

namespace rampart::agent::podnet {
namespace {

TEST(Ipv4, ParsesAndFormatsDottedQuads) {
  auto ip = parseIpv4("10.64.3.1");
  ASSERT_TRUE(ip);
  EXPECT_EQ(*ip, 0x0A400301u);
  EXPECT_EQ(formatIpv4(*ip), "10.64.3.1");
  EXPECT_EQ(formatIpv4(0xFFFFFFFFu), "255.255.255.255");
  EXPECT_FALSE(parseIpv4("10.64.3"));
  EXPECT_FALSE(parseIpv4("fd00::1"));
  EXPECT_FALSE(parseIpv4("10.64.3.256"));
}

TEST(Ipv4, ARangeKnowsItsGatewayAndPodAddresses) {
  auto range = parseCidr("10.64.3.0/24");
  ASSERT_TRUE(range) << range.error().toString();
  EXPECT_EQ(formatIpv4(range->gateway()), "10.64.3.1");
  EXPECT_EQ(formatIpv4(range->firstPod()), "10.64.3.2");
  EXPECT_EQ(formatIpv4(range->lastPod()), "10.64.3.254");
  EXPECT_EQ(range->size(), 256u);
  EXPECT_TRUE(range->contains(*parseIpv4("10.64.3.255")));
  EXPECT_FALSE(range->contains(*parseIpv4("10.64.4.0")));
  EXPECT_FALSE(range->contains(*parseIpv4("10.64.2.255")));
  EXPECT_EQ(range->toString(), "10.64.3.0/24");
}

TEST(Ipv4, RangesThatCannotHoldAPodOrAreNotRangesAreRejected) {
  EXPECT_FALSE(parseCidr("10.64.3.5/24")) << "host bits set";
  EXPECT_FALSE(parseCidr("10.64.3.0/31")) << "no pod address";
  EXPECT_FALSE(parseCidr("10.64.3.0"));
  EXPECT_FALSE(parseCidr("10.64.3.0/"));
  EXPECT_FALSE(parseCidr("10.64.3.0/24x"));
  EXPECT_FALSE(parseCidr("10.64.3.0/33"));
  EXPECT_FALSE(parseCidr("fd00:10:64::/64"));
  auto small = parseCidr("10.64.3.4/30");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->firstPod(), small->lastPod()) << "a /30 holds exactly one pod";
  EXPECT_TRUE(parseCidr("10.0.0.0/8"));
}

}  // namespace
}  // namespace rampart::agent::podnet

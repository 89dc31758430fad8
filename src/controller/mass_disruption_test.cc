#include "controller/mass_disruption.h"

#include <gtest/gtest.h>

namespace rampart::controller {
namespace {

TEST(MassDisruption, ANodeOrOneWholeZoneDownIsAFailureToHeal) {
  EXPECT_TRUE(decideMassDisruption({{"a", {2, 1}}, {"b", {2, 0}}, {"c", {2, 0}}}).evictions_allowed);
  EXPECT_TRUE(decideMassDisruption({{"a", {2, 2}}, {"b", {2, 0}}, {"c", {2, 0}}}).evictions_allowed);
  EXPECT_TRUE(decideMassDisruption({{"", {1, 1}}}).evictions_allowed);  // one node: nothing to spare
}

TEST(MassDisruption, EveryNodeDownMeansTheControlPlaneIsCutOff) {
  auto v = decideMassDisruption({{"a", {2, 2}}, {"b", {1, 1}}});
  EXPECT_FALSE(v.evictions_allowed);
  EXPECT_NE(v.reason.find("3 of 3 nodes down"), std::string::npos) << v.reason;
  EXPECT_FALSE(decideMassDisruption({{"", {2, 2}}}).evictions_allowed);
}

TEST(MassDisruption, TwoWholeZonesAtOnceHoldEvictions) {
  EXPECT_FALSE(
      decideMassDisruption({{"a", {2, 2}}, {"b", {2, 2}}, {"c", {4, 0}}}).evictions_allowed);
}

TEST(MassDisruption, MostNodesDownHoldEvictionsEvenAcrossZones) {
  // 4 of 6 down, no zone entirely: over 55 %.
  EXPECT_FALSE(
      decideMassDisruption({{"a", {2, 1}}, {"b", {2, 2}}, {"c", {2, 1}}}).evictions_allowed);
  // 3 of 6 down: 50 %, under the threshold.
  EXPECT_TRUE(
      decideMassDisruption({{"a", {2, 1}}, {"b", {2, 1}}, {"c", {2, 1}}}).evictions_allowed);
}

}  // namespace
}  // namespace rampart::controller

#include "agent/pod_ips.h"

#include <gtest/gtest.h>

namespace rampart::agent {
namespace {

TEST(PodIps, AddressesAreUniquePerNodeAndReusedAfterRelease) {
  PodIps ips(2);
  EXPECT_EQ(ips.assign("default/a", 0), "10.64.0.2");
  EXPECT_EQ(ips.assign("default/b", 0), "10.64.0.3");
  EXPECT_EQ(ips.assign("default/c", 1), "10.64.1.2");
  EXPECT_EQ(ips.assign("default/a", 0), "10.64.0.2") << "a pod keeps its address";
  ips.release("default/a");
  EXPECT_EQ(ips.assign("default/d", 0), "10.64.0.2");
  EXPECT_EQ(ips.held(), 3u);
}

TEST(PodIps, AnAddressAPodAlreadyReportsIsKept) {
  PodIps ips(1);
  EXPECT_EQ(ips.assign("default/a", 0, "10.64.0.9"), "10.64.0.9");
  EXPECT_EQ(ips.assign("default/b", 0, "10.64.0.9"), "10.64.0.2") << "taken: another one";
  EXPECT_EQ(ips.assign("default/c", 0, "10.99.0.9"), "10.64.0.3") << "not this node's";
}

TEST(PodIps, AFullNodeHasNoAddressLeft) {
  PodIps ips(1);
  for (int i = 0; i < kPodSlotsPerNode; ++i) {
    ASSERT_TRUE(ips.assign("default/p" + std::to_string(i), 0));
  }
  EXPECT_FALSE(ips.assign("default/extra", 0));
  ips.release("default/p7");
  EXPECT_EQ(ips.assign("default/extra", 0), "10.64.0.9");
}

}  // namespace
}  // namespace rampart::agent

#include "agent/podnet/names.h"

#include <gtest/gtest.h>

namespace rampart::agent::podnet {
namespace {

TEST(Names, TheHostVethFitsTheKernelsFifteenCharacters) {
  EXPECT_EQ(hostVethName("0B6C2F1E-9A7D-4C3B-8E5F-1234567890AB"), "rv0b6c2f1e9a7d");
  EXPECT_LE(hostVethName("0b6c2f1e-9a7d-4c3b-8e5f-1234567890ab").size(), 15u);
  EXPECT_EQ(hostVethName("ab"), "rvab");
}

TEST(Names, ANamespaceNameGivesBackItsPodOnlyForItsOwnNode) {
  auto prefix = defaultNetnsPrefix("n1");
  auto name = podNetnsName(prefix, "0b6c2f1e-9a7d");
  EXPECT_EQ(name, "rampart-n1_0b6c2f1e-9a7d");
  EXPECT_EQ(podUidFromNetnsName(prefix, name), "0b6c2f1e-9a7d");
  EXPECT_FALSE(podUidFromNetnsName(prefix, podNetnsName(defaultNetnsPrefix("n1-x"), "abc")))
      << "node n1-x's pods are not n1's";
  EXPECT_FALSE(podUidFromNetnsName(defaultNetnsPrefix("n1-x"), name));
  EXPECT_FALSE(podUidFromNetnsName(prefix, prefix)) << "no uid";
  EXPECT_FALSE(podUidFromNetnsName(prefix, "other"));
}

TEST(Names, PodUidsThatCannotBeFileAndCommandArgumentsAreRefused) {
  EXPECT_TRUE(validatePodUid("0b6c2f1e-9a7d-4c3b-8e5f-1234567890ab"));
  EXPECT_FALSE(validatePodUid(""));
  EXPECT_FALSE(validatePodUid("---"));
  EXPECT_FALSE(validatePodUid("../etc"));
  EXPECT_FALSE(validatePodUid("a b"));
  EXPECT_FALSE(validatePodUid("a\nlink del rampart0"));
  EXPECT_FALSE(validatePodUid(std::string(65, 'a')));
}

TEST(Names, CapabilitiesAreReadFromTheEffectiveSet) {
  // Root: every capability (CAP_NET_ADMIN is bit 12, CAP_SYS_ADMIN bit 21).
  std::string root =
      "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
      "CapEff:\t000001ffffffffff\n";
  EXPECT_EQ(hasEffectiveCapability(root, kCapNetAdmin), true);
  // Permitted but not effective (e.g. after a capset that lowered the effective set).
  std::string lowered = "CapPrm:\t000001ffffffffff\nCapEff:\t0000000000000000\n";
  EXPECT_EQ(hasEffectiveCapability(lowered, kCapNetAdmin), false);
  std::string only_net_admin = "CapEff:\t0000000000001000\n";
  EXPECT_EQ(hasEffectiveCapability(only_net_admin, kCapNetAdmin), true);
  EXPECT_EQ(hasEffectiveCapability(only_net_admin, kCapSysAdmin), false);
  EXPECT_FALSE(hasEffectiveCapability("Name:\tx\n", kCapNetAdmin));
  EXPECT_FALSE(hasEffectiveCapability("CapEff:\tzz\n", kCapNetAdmin));
}

}  // namespace
}  // namespace rampart::agent::podnet

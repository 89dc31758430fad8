#include "cluster/layout.h"

#include <gtest/gtest.h>

namespace rampart::cluster {
namespace {

TEST(Layout, MastersAndWorkersSpreadOverTheZonesRoundRobin) {
  auto nodes = planNodes({"lab", 3, 4, {"a", "b", "c"}});
  ASSERT_EQ(nodes.size(), 7u);
  EXPECT_EQ(nodes[0].name, "lab-m1");
  EXPECT_EQ(nodes[0].zone, "a");
  EXPECT_EQ(nodes[2].name, "lab-m3");
  EXPECT_EQ(nodes[2].zone, "c");
  EXPECT_EQ(nodes[3].name, "lab-w1");
  EXPECT_EQ(nodes[3].role, Role::Worker);
  EXPECT_EQ(nodes[3].zone, "a");
  EXPECT_EQ(nodes[6].name, "lab-w4");
  EXPECT_EQ(nodes[6].zone, "a");
  for (size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(nodes[i].ordinal, static_cast<int>(i) + 1);
  }
}

TEST(Layout, EveryNodeHasItsOwnAddressAndPodRange) {
  EXPECT_EQ(nodeAddress(1), "10.240.0.11");
  EXPECT_EQ(nodeAddress(kMaxOrdinal), "10.240.0.210");
  EXPECT_EQ(podCidr(7), "10.64.7.0/24");
  EXPECT_EQ(hubNamespace("lab"), "lab-lab");
  EXPECT_EQ(hubLinkName(12), "v12");
}

TEST(Layout, InvalidSpecsAreRefusedNamingTheFlag) {
  auto error = [](ClusterSpec spec) {
    auto r = validateSpec(spec);
    return r ? std::string() : r.error().message;
  };
  EXPECT_EQ(error({"lab", 3, 3, {"a", "b", "c"}}), "");
  EXPECT_NE(error({"lab", 2, 3, {"a"}}).find("--masters 2"), std::string::npos);
  EXPECT_NE(error({"lab", 9, 3, {"a"}}).find("--masters"), std::string::npos);
  EXPECT_NE(error({"lab", 3, -1, {"a"}}).find("--workers"), std::string::npos);
  EXPECT_NE(error({"lab", 3, 101, {"a"}}).find("--workers"), std::string::npos);
  EXPECT_NE(error({"lab", 3, 3, {}}).find("--zones"), std::string::npos);
  EXPECT_NE(error({"lab", 3, 3, {"a", ""}}).find("--zones"), std::string::npos);
  EXPECT_NE(error({"lab", 3, 3, {"a", "a"}}).find("given twice"), std::string::npos);
  EXPECT_NE(error({"Lab", 3, 3, {"a"}}).find("cluster name"), std::string::npos);
  EXPECT_NE(error({"a-very-long-cluster-name", 3, 3, {"a"}}).find("cluster name"),
            std::string::npos);
  EXPECT_NE(error({"-lab", 3, 3, {"a"}}).find("cluster name"), std::string::npos);
}

TEST(Layout, AnAddedNodeGoesToTheEmptiestZoneWithANewOrdinalAndTheFirstFreeName) {
  auto nodes = planNodes({"lab", 3, 2, {"a", "b", "c"}});  // workers in a, b
  auto next = nextNode("lab", nodes, 5, Role::Worker, "", {"a", "b", "c"});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->name, "lab-w3");
  EXPECT_EQ(next->zone, "c");
  EXPECT_EQ(next->ordinal, 6);
  // A removed node's ordinal (and so its address) is never given again; its name may be.
  nodes.erase(nodes.begin() + 3);  // lab-w1 removed
  auto again = nextNode("lab", nodes, 6, Role::Worker, "b", {"a", "b", "c"});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->name, "lab-w1");
  EXPECT_EQ(again->zone, "b");
  EXPECT_EQ(again->ordinal, 7);
  EXPECT_FALSE(nextNode("lab", nodes, kMaxOrdinal, Role::Worker, "", {"a"}));
  EXPECT_FALSE(nextNode("lab", nodes, 6, Role::Worker, "B_", {"a"}));
}

}  // namespace
}  // namespace rampart::cluster

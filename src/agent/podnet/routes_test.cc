#include "agent/podnet/routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::agent::podnet {
namespace {

nlohmann::json node(const std::string& name, const std::string& cidr, const std::string& ip) {
  nlohmann::json n = {{"kind", "Node"}, {"metadata", {{"name", name}}}};
  if (!cidr.empty()) {
    n["spec"]["podCIDR"] = cidr;
  }
  n["status"]["addresses"] = nlohmann::json::array({{{"type", "Hostname"}, {"address", name}}});
  if (!ip.empty()) {
    n["status"]["addresses"].push_back({{"type", "InternalIP"}, {"address", ip}});
  }
  return n;
}

TEST(DesiredRoutes, EveryOtherNodesPodRangeGoesViaItsInternalIp) {
  std::vector<nlohmann::json> nodes = {node("b", "10.64.2.0/24", "192.168.250.2"),
                                       node("a", "10.64.1.0/24", "192.168.250.1"),
                                       node("c", "10.64.3.0/24", "192.168.250.3")};
  auto routes = desiredRoutes("a", nodes);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0], (NodeRoute{"10.64.2.0/24", "192.168.250.2", "b"}));
  EXPECT_EQ(routes[0].node, "b");
  EXPECT_EQ(routes[1], (NodeRoute{"10.64.3.0/24", "192.168.250.3", "c"}));
}

TEST(DesiredRoutes, NodesWithoutARangeOrAnInternalIpAreSkipped) {
  std::vector<nlohmann::json> nodes = {
      node("no-cidr", "", "192.168.250.2"),
      node("no-ip", "10.64.2.0/24", ""),
      node("v6", "fd00:10:64::/64", "192.168.250.4"),
      node("bad", "10.64.5.7/24", "192.168.250.5"),
      node("bad-ip", "10.64.6.0/24", "not-an-ip"),
      nlohmann::json("garbage"),
      nlohmann::json{{"metadata", 3}, {"spec", "x"}, {"status", {{"addresses", 1}}}}};
  EXPECT_TRUE(desiredRoutes("a", nodes).empty());
}

TEST(DesiredRoutes, TwoNodesClaimingOneRangeGiveOneRouteTheFirstByName) {
  std::vector<nlohmann::json> nodes = {node("z", "10.64.2.0/24", "192.168.250.9"),
                                       node("m", "10.64.2.0/24", "192.168.250.2")};
  auto routes = desiredRoutes("a", nodes);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].via, "192.168.250.2");
}

TEST(PlanRoutes, AddsMissingReplacesMovedAndRemovesOnlyItsOwnUnwanted) {
  std::vector<NodeRoute> desired = {{"10.64.2.0/24", "192.168.250.2", "b"},
                                    {"10.64.3.0/24", "192.168.250.33", "c"},
                                    {"10.64.4.0/24", "192.168.250.4", "d"}};
  std::map<std::string, std::string> installed = {{"10.64.3.0/24", "192.168.250.3"},
                                                  {"10.64.4.0/24", "192.168.250.4"},
                                                  {"10.64.9.0/24", "192.168.250.9"}};
  std::set<std::string> foreign = {"10.99.0.0/24", "192.168.250.0/24"};
  auto plan = planRoutes(desired, installed, foreign);
  EXPECT_EQ(plan.add, (std::vector<NodeRoute>{{"10.64.2.0/24", "192.168.250.2", "b"}}));
  EXPECT_EQ(plan.replace, (std::vector<NodeRoute>{{"10.64.3.0/24", "192.168.250.33", "c"}}));
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"10.64.9.0/24"}));
  EXPECT_TRUE(plan.conflicts.empty());
}

TEST(PlanRoutes, ARouteSomeoneElseInstalledIsNeverOverwritten) {
  std::vector<NodeRoute> desired = {{"10.64.2.0/24", "192.168.250.2", "b"}};
  auto plan = planRoutes(desired, {}, {"10.64.2.0/24"});
  EXPECT_TRUE(plan.empty());
  ASSERT_EQ(plan.conflicts.size(), 1u);
  EXPECT_EQ(plan.conflicts[0].node, "b");
}

TEST(PlanRoutes, NothingToDoWhenTheKernelAlreadyMatches) {
  std::vector<NodeRoute> desired = {{"10.64.2.0/24", "192.168.250.2", "b"}};
  EXPECT_TRUE(planRoutes(desired, {{"10.64.2.0/24", "192.168.250.2"}}, {}).empty());
  auto gone = planRoutes({}, {{"10.64.2.0/24", "192.168.250.2"}}, {"10.99.0.0/24"});
  EXPECT_EQ(gone.remove, (std::vector<std::string>{"10.64.2.0/24"}));
}

}  // namespace
}  // namespace rampart::agent::podnet

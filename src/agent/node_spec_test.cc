#include "agent/node_spec.h"

#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rampart::agent {
namespace {
using json = nlohmann::json;

api::WallTime at(const char* text) { return *api::parseRfc3339(text); }

std::string condition(const json& node, const std::string& type) {
  for (const auto& c : node["status"]["conditions"]) {
    if (c["type"] == type) {
      return c["status"];
    }
  }
  return "";
}

TEST(NodeSpec, NodesAreNamedByPrefixAndIndexWithZonesRoundRobin) {
  NodeSpec spec;
  spec.zones = {"a", "b", "c"};
  spec.labels = {{"pool", "sim"}};
  auto now = at("2026-12-06T17:00:00Z");
  json n0 = makeNode(spec, 0, now);
  json n4 = makeNode(spec, 4, now);
  EXPECT_EQ(n0["metadata"]["name"], "sim-0");
  EXPECT_EQ(n0["metadata"]["labels"]["kubernetes.io/hostname"], "sim-0");
  EXPECT_EQ(n0["metadata"]["labels"]["topology.kubernetes.io/zone"], "a");
  EXPECT_EQ(n4["metadata"]["labels"]["topology.kubernetes.io/zone"], "b");
  EXPECT_EQ(n4["metadata"]["labels"]["pool"], "sim");
  spec.zones.clear();
  EXPECT_FALSE(
      makeNode(spec, 0, now)["metadata"]["labels"].contains("topology.kubernetes.io/zone"));
}

TEST(NodeSpec, ANodeIsReadyWithoutPressureAndReportsItsCapacity) {
  NodeSpec spec;
  spec.cpu = "4";
  spec.memory = "16Gi";
  spec.max_pods = 50;
  json node = makeNode(spec, 7, at("2026-12-06T17:00:00Z"));
  EXPECT_EQ(condition(node, "Ready"), "True");
  EXPECT_EQ(condition(node, "MemoryPressure"), "False");
  EXPECT_EQ(condition(node, "DiskPressure"), "False");
  EXPECT_EQ(condition(node, "PIDPressure"), "False");
  for (const char* field : {"capacity", "allocatable"}) {
    EXPECT_EQ(node["status"][field]["cpu"], "4");
    EXPECT_EQ(node["status"][field]["memory"], "16Gi");
    EXPECT_EQ(node["status"][field]["pods"], "50");
  }
  EXPECT_EQ(node["status"]["nodeInfo"]["kubeletVersion"], kKubeletVersion);
  EXPECT_EQ(node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
  EXPECT_EQ(node["status"]["addresses"][0]["type"], "InternalIP");
  EXPECT_EQ(node["status"]["addresses"][0]["address"], "172.16.0.8");
  EXPECT_EQ(node["spec"]["podCIDR"], "10.64.7.0/24");
}

TEST(NodeSpec, TheLeaseCarriesAMicroTimeAndTheDurationInMilliseconds) {
  NodeSpec spec;
  spec.lease_duration = std::chrono::milliseconds(800);
  auto now = at("2026-12-06T17:00:00Z") + std::chrono::microseconds(123456);
  json lease = makeLease(spec, 3, now);
  EXPECT_EQ(lease["metadata"]["name"], "sim-3");
  EXPECT_EQ(lease["metadata"]["namespace"], "kube-node-lease");
  EXPECT_EQ(lease["metadata"]["annotations"][kLeaseDurationAnnotation], "800");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "sim-3");
  EXPECT_EQ(lease["spec"]["renewTime"], "2026-12-06T17:00:00.123456Z");
  // Whole seconds, rounded up: never shorter than the real duration.
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 1);
  spec.lease_duration = std::chrono::milliseconds(40000);
  EXPECT_EQ(makeLease(spec, 3, now)["spec"]["leaseDurationSeconds"], 40);
}

TEST(NodeSpec, AddressesAreDistinctAcrossNodesAndPods) {
  std::set<std::string> hosts;
  std::set<std::string> cidrs;
  for (int i = 0; i < kMaxSimulatedNodes; ++i) {
    hosts.insert(nodeInternalIp(i));
    cidrs.insert(nodePodCidr(i));
  }
  EXPECT_EQ(hosts.size(), static_cast<size_t>(kMaxSimulatedNodes));
  EXPECT_EQ(cidrs.size(), static_cast<size_t>(kMaxSimulatedNodes));
  EXPECT_EQ(podIp(256, 0), "10.65.0.2");
  EXPECT_EQ(podIp(kMaxSimulatedNodes - 1, kPodSlotsPerNode - 1), "10.127.255.254");
}

TEST(NodeSpec, LabelsAndZonesAreParsedAndBadOnesNamed) {
  auto labels = parseLabels("pool=sim,example.com/tier=gold,empty=");
  ASSERT_TRUE(labels) << labels.error().message;
  EXPECT_EQ(labels->at("example.com/tier"), "gold");
  EXPECT_EQ(labels->at("empty"), "");
  auto missing = parseLabels("pool");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("--labels"), std::string::npos);
  EXPECT_FALSE(parseLabels("bad key=x"));
  EXPECT_FALSE(parseLabels("k=-x"));
  auto zones = parseZones("a,b");
  ASSERT_TRUE(zones);
  EXPECT_EQ(zones->size(), 2u);
  auto empty_zone = parseZones("a,,b");
  ASSERT_FALSE(empty_zone);
  EXPECT_NE(empty_zone.error().message.find("--zones"), std::string::npos);
}

TEST(NodeSpec, ValidationNamesTheFlag) {
  NodeSpec spec;
  EXPECT_TRUE(validate(spec));
  spec.cpu = "lots";
  ASSERT_FALSE(validate(spec));
  EXPECT_NE(validate(spec).error().message.find("--node-cpu"), std::string::npos);
  spec = NodeSpec{};
  spec.memory = "0";
  EXPECT_NE(validate(spec).error().message.find("--node-memory"), std::string::npos);
  spec = NodeSpec{};
  spec.max_pods = 300;
  EXPECT_NE(validate(spec).error().message.find("--node-max-pods"), std::string::npos);
  spec = NodeSpec{};
  spec.name_prefix = "Sim_";
  EXPECT_NE(validate(spec).error().message.find("--node-name-prefix"), std::string::npos);
}

}  // namespace
}  // namespace rampart::agent

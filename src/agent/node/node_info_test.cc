#include "agent/node/node_info.h"

#include <gtest/gtest.h>

namespace rampart::agent::node {
namespace {
using json = nlohmann::json;

api::WallTime wallAt(int s) { return api::WallTime(std::chrono::seconds(1'800'000'000 + s)); }

MachineFacts machine() {
  MachineFacts facts;
  facts.cpu_milli = 4000;
  facts.memory_bytes = 8LL << 30;
  facts.memory_available_bytes = 4LL << 30;
  facts.pid_max = 4'194'304;
  facts.pids_in_use = 300;
  facts.architecture = "amd64";
  facts.kernel = "6.1.0";
  return facts;
}

std::string conditionStatus(const json& conditions, const std::string& type) {
  for (const auto& c : conditions) {
    if (c["type"] == type) {
      return c["status"];
    }
  }
  return "";
}

TEST(NodeInfoTest, AllocatableIsCapacityMinusTheReservations) {
  NodeConfig config;
  config.name = "w1";
  config.internal_ip = "10.0.0.5";
  config.pod_cidr = "10.64.1.0/24";
  config.reserved_cpu_milli = 500;
  config.reserved_memory_bytes = 1LL << 30;
  config.labels["topology.kubernetes.io/zone"] = "a";
  json node = makeNode(config, machine(), wallAt(0));
  EXPECT_EQ(node["status"]["capacity"]["cpu"], "4");
  EXPECT_EQ(node["status"]["allocatable"]["cpu"], "3500m");
  EXPECT_EQ(node["status"]["capacity"]["memory"], "8Gi");
  EXPECT_EQ(node["status"]["allocatable"]["memory"], "7Gi");
  EXPECT_EQ(node["status"]["allocatable"]["pods"], "110");
  EXPECT_EQ(node["metadata"]["labels"]["topology.kubernetes.io/zone"], "a");
  EXPECT_EQ(node["metadata"]["labels"]["kubernetes.io/hostname"], "w1");
  EXPECT_EQ(node["spec"]["podCIDR"], "10.64.1.0/24");
  EXPECT_EQ(node["status"]["addresses"][0]["address"], "10.0.0.5");
  EXPECT_EQ(node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
  EXPECT_EQ(conditionStatus(node["status"]["conditions"], "Ready"), "True");
}

TEST(NodeInfoTest, PressureConditionsFollowAvailableMemoryAndPids) {
  MachineFacts facts = machine();
  facts.memory_available_bytes = 50LL << 20;
  facts.pids_in_use = facts.pid_max - 100;
  json conditions = nodeConditions(facts, json::array(), wallAt(0));
  EXPECT_EQ(conditionStatus(conditions, "MemoryPressure"), "True");
  EXPECT_EQ(conditionStatus(conditions, "PIDPressure"), "True");
  EXPECT_EQ(conditionStatus(conditions, "Ready"), "True");
}

TEST(NodeInfoTest, TransitionTimesMoveOnlyWhenAConditionChanges) {
  json first = nodeConditions(machine(), json::array(), wallAt(0));
  json second = nodeConditions(machine(), first, wallAt(60));
  EXPECT_EQ(second[3]["lastTransitionTime"], first[3]["lastTransitionTime"]);
  EXPECT_NE(second[3]["lastHeartbeatTime"], first[3]["lastHeartbeatTime"]);
}

TEST(NodeInfoTest, ReservationsAndTaintsParseOrNameTheFlag) {
  auto reserved = parseReserved("cpu=250m,memory=512Mi");
  ASSERT_TRUE(reserved);
  EXPECT_EQ(reserved->first, 250);
  EXPECT_EQ(reserved->second, 512LL << 20);
  auto bad = parseReserved("disk=1Gi");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--system-reserved"), std::string::npos);

  auto taints = parseTaints("node-role.kubernetes.io/control-plane:NoSchedule,dedicated=db:NoExecute");
  ASSERT_TRUE(taints);
  ASSERT_EQ(taints->size(), 2u);
  EXPECT_EQ((*taints)[1]["value"], "db");
  EXPECT_EQ((*taints)[1]["effect"], "NoExecute");
  auto wrong = parseTaints("a=b:Sometimes");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("--register-with-taints"), std::string::npos);
}

TEST(NodeInfoTest, ThisMachineIsReadable) {
  auto facts = readMachine();
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_GT(facts->cpu_milli, 0);
  EXPECT_GT(facts->memory_bytes, facts->memory_available_bytes);
  EXPECT_FALSE(facts->kernel.empty());
}

}  // namespace
}  // namespace rampart::agent::node

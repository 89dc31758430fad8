#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "controller/disruption.h"
#include "controller/replicaset.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;

const api::WallTime kNow = *api::parseRfc3339("2026-12-06T03:00:00Z");

json rs(int replicas, int min_ready = 0) {
  return {{"metadata", {{"name", "web-abc"}, {"generation", 4}}},
          {"spec",
           {{"replicas", replicas},
            {"minReadySeconds", min_ready},
            {"template", {{"metadata", {{"labels", {{"app", "web"}}}}}}}}}};
}

json pod(const std::string& name, const std::string& node, const std::string& phase,
         const char* ready_since = nullptr, const std::string& created = "2026-12-06T02:00:00Z",
         int restarts = 0) {
  json p = {
      {"metadata", {{"name", name}, {"creationTimestamp", created}, {"labels", {{"app", "web"}}}}},
      {"spec", json::object()},
      {"status",
       {{"phase", phase}, {"containerStatuses", {{{"name", "c"}, {"restartCount", restarts}}}}}}};
  if (!node.empty()) {
    p["spec"]["nodeName"] = node;
  }
  if (ready_since) {
    p["status"]["conditions"] = {
        {{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", ready_since}}};
  }
  return p;
}

TEST(ReplicaSetDecision, TooFewCreatesTheDifferenceBoundedByBurst) {
  auto d = decideReplicaSet(rs(5), {pod("a", "n1", "Running", "2026-12-06T02:10:00Z")}, kNow);
  EXPECT_EQ(d.create, 4);
  EXPECT_TRUE(d.delete_names.empty());
  EXPECT_EQ(decideReplicaSet(rs(10000), {}, kNow).create, 500);
}

TEST(ReplicaSetDecision, TerminatingAndFinishedPodsDoNotCount) {
  json gone = pod("a", "n1", "Running", "2026-12-06T02:10:00Z");
  gone["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:30Z";
  auto d =
      decideReplicaSet(rs(2), {gone, pod("b", "n1", "Succeeded"), pod("c", "n1", "Running")}, kNow);
  EXPECT_EQ(d.create, 1);
  EXPECT_EQ(d.status["replicas"], 1);
}

TEST(ReplicaSetDecision, TooManyDeletesTheLeastValuableFirst) {
  std::vector<json> pods = {
      pod("ready-old", "n1", "Running", "2026-12-06T01:00:00Z"),
      pod("ready-new", "n1", "Running", "2026-12-06T02:59:00Z"),
      pod("unscheduled", "", "Pending"),
      pod("pending", "n2", "Pending"),
      pod("running-not-ready", "n2", "Running"),
      pod("crashy", "n2", "Running", nullptr, "2026-12-06T02:00:00Z", 7),
  };
  auto d = decideReplicaSet(rs(1), pods, kNow);
  EXPECT_EQ(d.create, 0);
  EXPECT_EQ(d.delete_names, (std::vector<std::string>{"unscheduled", "pending", "crashy",
                                                      "running-not-ready", "ready-new"}));
}

TEST(ReplicaSetDecision, StatusCountsReadyAndAvailableAfterMinReadySeconds) {
  std::vector<json> pods = {pod("a", "n1", "Running", "2026-12-06T02:59:50Z"),
                            pod("b", "n1", "Running", "2026-12-06T02:00:00Z"),
                            pod("c", "n1", "Running")};
  pods[2]["metadata"]["labels"] = json::object();
  auto d = decideReplicaSet(rs(3, 30), pods, kNow);
  EXPECT_EQ(d.status["replicas"], 3);
  EXPECT_EQ(d.status["readyReplicas"], 2);
  EXPECT_EQ(d.status["availableReplicas"], 1);
  EXPECT_EQ(d.status["fullyLabeledReplicas"], 2);
  EXPECT_EQ(d.status["observedGeneration"], 4);
  EXPECT_EQ(d.create, 0);
  EXPECT_TRUE(d.delete_names.empty());
}

TEST(IntOrPercent, ScalesWithTheRequestedRounding) {
  EXPECT_EQ(*scaledValue(3, 10, true), 3);
  EXPECT_EQ(*scaledValue("25%", 10, true), 3);
  EXPECT_EQ(*scaledValue("25%", 10, false), 2);
  EXPECT_FALSE(scaledValue("25", 10, true));
  EXPECT_FALSE(scaledValue("x%", 10, true));
  EXPECT_FALSE(scaledValue(json::array(), 10, true));
}

TEST(DisruptionBudget, MinAvailableLeavesTheSurplusToDisrupt) {
  std::vector<json> pods = {pod("a", "n1", "Running", "2026-12-06T02:00:00Z"),
                            pod("b", "n2", "Running", "2026-12-06T02:00:00Z"),
                            pod("c", "n3", "Running", "2026-12-06T02:00:00Z")};
  json pdb = {{"spec", {{"minAvailable", 2}}}};
  auto s = budgetStatus(pdb, pods, 3);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->current_healthy, 3);
  EXPECT_EQ(s->desired_healthy, 2);
  EXPECT_EQ(s->disruptions_allowed, 1);
  EXPECT_TRUE(evictionAllowed(*s, pods[0]));
  pods[1]["status"]["conditions"][0]["status"] = "False";
  s = budgetStatus(pdb, pods, 3);
  EXPECT_EQ(s->disruptions_allowed, 0);
  EXPECT_FALSE(evictionAllowed(*s, pods[0]));
  EXPECT_TRUE(evictionAllowed(*s, pods[1]));  // an unready pod may always go
}

TEST(DisruptionBudget, PercentagesAndMaxUnavailable) {
  std::vector<json> pods;
  for (int i = 0; i < 4; ++i) {
    pods.push_back(pod("p" + std::to_string(i), "n1", "Running", "2026-12-06T02:00:00Z"));
  }
  auto s = budgetStatus({{"spec", {{"minAvailable", "50%"}}}}, pods, 5);
  EXPECT_EQ(s->desired_healthy, 3);
  EXPECT_EQ(s->disruptions_allowed, 1);
  s = budgetStatus({{"spec", {{"maxUnavailable", 1}}}}, pods, 5);
  EXPECT_EQ(s->desired_healthy, 4);
  EXPECT_EQ(s->disruptions_allowed, 0);
  s = budgetStatus({{"spec", {{"maxUnavailable", "30%"}}}}, pods, 4);
  EXPECT_EQ(s->desired_healthy, 2);
  EXPECT_FALSE(budgetStatus({{"spec", {{"minAvailable", "lots"}}}}, pods, 4));
}

}  // namespace
}  // namespace rampart::controller

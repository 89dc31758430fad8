#include "agent/pod_status.h"

#include <gtest/gtest.h>

namespace rampart::agent {
namespace {
using json = nlohmann::json;

api::WallTime at(const char* text) { return *api::parseRfc3339(text); }

json boundPod() {
  return json::parse(R"({
    "metadata": {"name": "web-1", "namespace": "default", "uid": "u1", "resourceVersion": "7"},
    "spec": {"nodeName": "sim-0",
             "initContainers": [{"name": "init", "image": "busybox"}],
             "containers": [{"name": "app", "image": "nginx:1.27"},
                            {"name": "side", "image": "envoy"}]},
    "status": {"phase": "Pending",
               "conditions": [{"type": "PodScheduled", "status": "True",
                               "lastTransitionTime": "2026-12-06T16:00:00Z"}]}
  })");
}

const PodPlacement kPlacement{"172.16.0.1", "10.64.0.2"};

std::string condition(const json& status, const std::string& type) {
  for (const auto& c : status["conditions"]) {
    if (c["type"] == type) {
      return c["status"];
    }
  }
  return "";
}

TEST(PodStatus, ABoundPendingPodBecomesRunningAndReady) {
  auto action = decidePod(boundPod(), kPlacement, at("2026-12-06T17:00:00Z"));
  ASSERT_EQ(action.kind, PodAction::Kind::SetStatus);
  const json& s = action.status;
  EXPECT_EQ(s["phase"], "Running");
  for (const char* type : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
    EXPECT_EQ(condition(s, type), "True") << type;
  }
  EXPECT_EQ(s["podIP"], "10.64.0.2");
  EXPECT_EQ(s["podIPs"][0]["ip"], "10.64.0.2");
  EXPECT_EQ(s["hostIP"], "172.16.0.1");
  EXPECT_EQ(s["startTime"], "2026-12-06T17:00:00Z");
  EXPECT_EQ(s["qosClass"], "BestEffort");
  ASSERT_EQ(s["containerStatuses"].size(), 2u);
  const json& app = s["containerStatuses"][0];
  EXPECT_EQ(app["name"], "app");
  EXPECT_EQ(app["image"], "nginx:1.27");
  EXPECT_EQ(app["ready"], true);
  EXPECT_EQ(app["started"], true);
  EXPECT_EQ(app["restartCount"], 0);
  EXPECT_EQ(app["state"]["running"]["startedAt"], "2026-12-06T17:00:00Z");
  EXPECT_EQ(s["initContainerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
}

TEST(PodStatus, ARunningReadyPodNeedsNoWrite) {
  json pod = boundPod();
  auto first = decidePod(pod, kPlacement, at("2026-12-06T17:00:00Z"));
  pod["status"] = first.status;
  EXPECT_EQ(decidePod(pod, kPlacement, at("2026-12-06T17:00:05Z")).kind, PodAction::Kind::None);
  // ... unless what it reports is not what this node gave it.
  EXPECT_EQ(
      decidePod(pod, PodPlacement{"172.16.0.1", "10.64.0.3"}, at("2026-12-06T17:00:05Z")).kind,
      PodAction::Kind::SetStatus);
}

TEST(PodStatus, TimesAlreadyReportedAreKept) {
  json pod = boundPod();
  pod["status"]["startTime"] = "2026-12-06T16:30:00Z";
  auto action = decidePod(pod, kPlacement, at("2026-12-06T17:00:00Z"));
  EXPECT_EQ(action.status["startTime"], "2026-12-06T16:30:00Z");
  for (const auto& c : action.status["conditions"]) {
    EXPECT_EQ(c["lastTransitionTime"],
              c["type"] == "PodScheduled" ? "2026-12-06T16:00:00Z" : "2026-12-06T17:00:00Z")
        << c.dump();
  }
}

TEST(PodStatus, APodBeingDeletedIsDeletedForGood) {
  json pod = boundPod();
  pod["metadata"]["deletionTimestamp"] = "2026-12-06T17:00:30Z";
  pod["status"]["phase"] = "Running";
  EXPECT_EQ(decidePod(pod, kPlacement, at("2026-12-06T17:00:00Z")).kind,
            PodAction::Kind::FinalDelete);
}

TEST(PodStatus, TerminalPodsAreLeftAlone) {
  for (const char* phase : {"Succeeded", "Failed"}) {
    json pod = boundPod();
    pod["status"]["phase"] = phase;
    EXPECT_EQ(decidePod(pod, kPlacement, at("2026-12-06T17:00:00Z")).kind, PodAction::Kind::None)
        << phase;
  }
}

TEST(PodStatus, QosClassFollowsRequestsAndLimits) {
  json spec = {{"containers", {{{"name", "a"}}}}};
  EXPECT_EQ(qosClass(spec), "BestEffort");
  spec["containers"][0]["resources"] = {{"requests", {{"cpu", "100m"}}}};
  EXPECT_EQ(qosClass(spec), "Burstable");
  spec["containers"][0]["resources"] = {{"limits", {{"cpu", "1"}, {"memory", "1Gi"}}}};
  EXPECT_EQ(qosClass(spec), "Guaranteed");
  spec["containers"][0]["resources"]["requests"] = {{"cpu", "500m"}, {"memory", "1Gi"}};
  EXPECT_EQ(qosClass(spec), "Burstable");
}

}  // namespace
}  // namespace rampart::agent

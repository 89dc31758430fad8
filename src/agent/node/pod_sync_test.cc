#include "agent/node/pod_sync.h"

#include <gtest/gtest.h>

namespace rampart::agent::node {
namespace {
using json = nlohmann::json;
using std::chrono::seconds;

api::WallTime wallAt(int s) { return api::WallTime(std::chrono::seconds(1'800'000'000 + s)); }

json podWith(json containers, std::string policy = "Always") {
  return {{"metadata", {{"name", "web"}, {"namespace", "default"}, {"uid", "u1"}}},
          {"spec",
           {{"nodeName", "n1"}, {"restartPolicy", policy}, {"containers", std::move(containers)}}},
          {"status", json::object()}};
}

json one() { return json::array({{{"name", "app"}, {"image", "busybox"}, {"command", {"sleep"}}}}); }

PodFacts factsFor(json pod) {
  PodFacts facts;
  facts.pod = std::move(pod);
  facts.network_ready = true;
  facts.pod_ip = "10.64.0.2";
  facts.host_ip = "192.168.0.1";
  facts.wall_now = wallAt(100);
  facts.now = TimePoint(seconds(1000));
  return facts;
}

ObservedContainer running(int attempt = 0) {
  ObservedContainer c;
  c.attempt = attempt;
  c.running = true;
  c.started_at = wallAt(50);
  return c;
}

ObservedContainer exited(int code, int attempt = 0) {
  ObservedContainer c;
  c.attempt = attempt;
  c.started_at = wallAt(50);
  c.finished_at = wallAt(60);
  c.exit_code = code;
  c.reason = code == 0 ? "Completed" : "Error";
  return c;
}

std::string condition(const json& status, const std::string& type) {
  for (const auto& c : status["conditions"]) {
    if (c["type"] == type) {
      return c["status"];
    }
  }
  return "";
}

TEST(PodSyncTest, ANewPodStartsItsContainersOnceItsNetworkIsReady) {
  PodFacts facts = factsFor(podWith(one()));
  facts.network_ready = false;
  SyncAction action = syncPod(facts);
  EXPECT_TRUE(action.start.empty());

  facts.network_ready = true;
  action = syncPod(facts);
  ASSERT_EQ(action.start.size(), 1u);
  EXPECT_EQ(action.start[0].name, "app");
  EXPECT_EQ(action.start[0].attempt, 0);
  ASSERT_TRUE(action.status);
  EXPECT_EQ((*action.status)["phase"], "Pending");
  EXPECT_EQ((*action.status)["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating");
}

TEST(PodSyncTest, ARunningReadyContainerMakesThePodRunningAndReadyAndIsNotWrittenTwice) {
  PodFacts facts = factsFor(podWith(one()));
  facts.current["app"] = running();
  SyncAction action = syncPod(facts);
  ASSERT_TRUE(action.status);
  const json& status = *action.status;
  EXPECT_EQ(status["phase"], "Running");
  EXPECT_EQ(condition(status, "Ready"), "True");
  EXPECT_EQ(status["podIP"], "10.64.0.2");
  EXPECT_EQ(status["containerStatuses"][0]["ready"], true);
  EXPECT_EQ(status["containerStatuses"][0]["containerID"], "rampart://u1/app/0");
  EXPECT_TRUE(status["containerStatuses"][0]["state"].contains("running"));

  facts.pod["status"] = status;
  facts.wall_now = wallAt(200);  // later, same facts: same status, nothing to write
  EXPECT_FALSE(syncPod(facts).status);
}

TEST(PodSyncTest, NotReadyWhileTheReadinessProbeFails) {
  PodFacts facts = factsFor(podWith(one()));
  facts.current["app"] = running();
  facts.health["app"] = ContainerHealth{true, false, false, ""};
  SyncAction action = syncPod(facts);
  ASSERT_TRUE(action.status);
  EXPECT_EQ(condition(*action.status, "Ready"), "False");
  EXPECT_EQ(condition(*action.status, "ContainersReady"), "False");
  EXPECT_EQ((*action.status)["phase"], "Running");
}

TEST(PodSyncTest, AnExitedContainerRestartsUnderAlwaysAfterItsBackOff) {
  PodFacts facts = factsFor(podWith(one()));
  facts.current["app"] = exited(1, 2);
  facts.backoff["app"] = BackOff{facts.now + seconds(20), seconds(20)};
  SyncAction action = syncPod(facts);
  EXPECT_TRUE(action.start.empty());
  ASSERT_TRUE(action.status);
  const json& waiting = (*action.status)["containerStatuses"][0]["state"]["waiting"];
  EXPECT_EQ(waiting["reason"], "CrashLoopBackOff");
  EXPECT_EQ(waiting["message"],
            "back-off 20s restarting failed container=app pod=web_default(u1)");
  EXPECT_EQ((*action.status)["containerStatuses"][0]["restartCount"], 2);
  EXPECT_EQ((*action.status)["phase"], "Running");

  facts.now += seconds(21);
  action = syncPod(facts);
  ASSERT_EQ(action.start.size(), 1u);
  EXPECT_EQ(action.start[0].attempt, 3);
}

TEST(PodSyncTest, RestartPolicyDecidesWhetherAnExitIsFinal) {
  PodFacts ok = factsFor(podWith(one(), "OnFailure"));
  ok.current["app"] = exited(0);
  SyncAction action = syncPod(ok);
  EXPECT_TRUE(action.start.empty());
  EXPECT_EQ((*action.status)["phase"], "Succeeded");
  EXPECT_TRUE(action.release);

  PodFacts failed = factsFor(podWith(one(), "OnFailure"));
  failed.current["app"] = exited(3);
  action = syncPod(failed);
  ASSERT_EQ(action.start.size(), 1u);

  PodFacts never = factsFor(podWith(one(), "Never"));
  never.current["app"] = exited(3);
  action = syncPod(never);
  EXPECT_TRUE(action.start.empty());
  EXPECT_EQ((*action.status)["phase"], "Failed");
  EXPECT_EQ((*action.status)["containerStatuses"][0]["state"]["terminated"]["exitCode"], 3);
}

TEST(PodSyncTest, InitContainersRunOneAtATimeBeforeTheContainers) {
  json pod = podWith(one());
  pod["spec"]["initContainers"] = {{{"name", "first"}, {"command", {"true"}}},
                                   {{"name", "second"}, {"command", {"true"}}}};
  PodFacts facts = factsFor(pod);
  SyncAction action = syncPod(facts);
  ASSERT_EQ(action.start.size(), 1u);
  EXPECT_EQ(action.start[0].name, "first");
  EXPECT_TRUE(action.start[0].init);
  EXPECT_EQ(condition(*action.status, "Initialized"), "False");

  facts.current["first"] = exited(0);
  action = syncPod(facts);
  ASSERT_EQ(action.start.size(), 1u);
  EXPECT_EQ(action.start[0].name, "second");

  facts.current["second"] = exited(0);
  action = syncPod(facts);
  ASSERT_EQ(action.start.size(), 1u);
  EXPECT_EQ(action.start[0].name, "app");
  EXPECT_FALSE(action.start[0].init);
  EXPECT_EQ(condition(*action.status, "Initialized"), "True");
}

TEST(PodSyncTest, AFailedInitContainerFailsThePodUnderNever) {
  json pod = podWith(one(), "Never");
  pod["spec"]["initContainers"] = {{{"name", "first"}, {"command", {"false"}}}};
  PodFacts facts = factsFor(pod);
  facts.current["first"] = exited(1);
  SyncAction action = syncPod(facts);
  EXPECT_TRUE(action.start.empty());
  EXPECT_EQ((*action.status)["phase"], "Failed");
}

TEST(PodSyncTest, ALivenessFailureKillsTheContainerWithTheProbesMessage) {
  json pod = podWith(one());
  pod["spec"]["terminationGracePeriodSeconds"] = 5;
  PodFacts facts = factsFor(pod);
  facts.current["app"] = running();
  facts.health["app"] =
      ContainerHealth{true, false, true, "Liveness probe failed: HTTP probe failed with statuscode: 500"};
  SyncAction action = syncPod(facts);
  ASSERT_EQ(action.kill.size(), 1u);
  EXPECT_EQ(action.kill[0].grace, seconds(5));
  EXPECT_NE(action.kill[0].reason.find("Liveness probe failed"), std::string::npos);
}

TEST(PodSyncTest, ADeletedPodIsStoppedWithItsGraceThenDeleted) {
  json pod = podWith(one());
  pod["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z";
  pod["metadata"]["deletionGracePeriodSeconds"] = 7;
  PodFacts facts = factsFor(pod);
  facts.current["app"] = running();
  SyncAction action = syncPod(facts);
  ASSERT_EQ(action.kill.size(), 1u);
  EXPECT_EQ(action.kill[0].grace, seconds(7));
  EXPECT_FALSE(action.final_delete);

  facts.current["app"] = exited(143);
  action = syncPod(facts);
  EXPECT_TRUE(action.kill.empty());
  EXPECT_TRUE(action.start.empty());  // never restarted while deleting
  EXPECT_TRUE(action.final_delete);
  EXPECT_EQ((*action.status)["phase"], "Failed");
}

TEST(PodSyncTest, AMissingConfigMapLeavesTheContainerWaitingWithTheKubeletsReason) {
  PodFacts facts = factsFor(podWith(one()));
  facts.config_errors["app"] = "configmap \"cfg\" not found";
  SyncAction action = syncPod(facts);
  EXPECT_TRUE(action.start.empty());
  const json& waiting = (*action.status)["containerStatuses"][0]["state"]["waiting"];
  EXPECT_EQ(waiting["reason"], "CreateContainerConfigError");
  EXPECT_EQ(waiting["message"], "configmap \"cfg\" not found");
  EXPECT_EQ((*action.status)["phase"], "Pending");
}

TEST(PodSyncTest, LastStateShowsThePreviousAttempt) {
  PodFacts facts = factsFor(podWith(one()));
  facts.current["app"] = running(1);
  facts.previous["app"] = exited(137, 0);
  facts.previous["app"].reason = "OOMKilled";
  SyncAction action = syncPod(facts);
  const json& last = (*action.status)["containerStatuses"][0]["lastState"]["terminated"];
  EXPECT_EQ(last["reason"], "OOMKilled");
  EXPECT_EQ(last["exitCode"], 137);
  EXPECT_EQ((*action.status)["containerStatuses"][0]["restartCount"], 1);
}

TEST(PodSyncTest, ConditionsOthersWroteAndReadinessGatesAreKept) {
  json pod = podWith(one());
  pod["spec"]["readinessGates"] = {{{"conditionType", "example.com/ready"}}};
  pod["status"]["conditions"] = {{{"type", "example.com/ready"}, {"status", "False"}}};
  PodFacts facts = factsFor(pod);
  facts.current["app"] = running();
  SyncAction action = syncPod(facts);
  EXPECT_EQ(condition(*action.status, "ContainersReady"), "True");
  EXPECT_EQ(condition(*action.status, "Ready"), "False");
  EXPECT_EQ(condition(*action.status, "example.com/ready"), "False");
}

}  // namespace
}  // namespace rampart::agent::node

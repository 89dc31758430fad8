#include "controller/deployment.h"

#include <gtest/gtest.h>

namespace rampart::controller {
namespace {
using json = nlohmann::json;

const api::WallTime kNow = *api::parseRfc3339("2026-12-06T03:00:00Z");

json tmpl(const std::string& image) {
  return {{"metadata", {{"labels", {{"app", "web"}}}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", image}}}}}}};
}

json deploy(int replicas, const std::string& image = "v2", json strategy = json()) {
  json d = {{"metadata",
             {{"name", "web"},
              {"namespace", "default"},
              {"uid", "d-uid"},
              {"generation", 2},
              {"annotations", {{"kubernetes.io/change-cause", "v2 rollout"}}}}},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", {{"app", "web"}}}}},
              {"template", tmpl(image)}}},
            {"status", json::object()}};
  if (!strategy.is_null()) {
    d["spec"]["strategy"] = strategy;
  }
  return d;
}

json rolling(json surge, json unavailable) {
  return {{"type", "RollingUpdate"},
          {"rollingUpdate", {{"maxSurge", surge}, {"maxUnavailable", unavailable}}}};
}

// A ReplicaSet as the controller makes them, with the given observed status.
json rs(const std::string& image, int revision, int spec, int status_replicas, int available,
        const std::string& created = "2026-12-06T01:00:00Z", int desired = -1) {
  std::string hash = podTemplateHash(tmpl(image), 0);
  json t = tmpl(image);
  t["metadata"]["labels"]["pod-template-hash"] = hash;
  // As the controller leaves them: the Deployment's own annotations copied.
  json annotations = {{kRevisionAnnotation, std::to_string(revision)},
                      {"kubernetes.io/change-cause", "v2 rollout"}};
  if (desired >= 0) {
    annotations[kDesiredReplicasAnnotation] = std::to_string(desired);
  }
  return {{"metadata",
           {{"name", "web-" + hash},
            {"uid", "rs-" + image},
            {"creationTimestamp", created},
            {"annotations", annotations}}},
          {"spec", {{"replicas", spec}, {"template", t}}},
          {"status",
           {{"replicas", status_replicas},
            {"readyReplicas", available},
            {"availableReplicas", available}}}};
}

const json* conditionOf(const json& status, const std::string& type) {
  if (!status.contains("conditions")) {
    return nullptr;
  }
  for (const auto& c : status["conditions"]) {
    if (c["type"] == type) {
      return &c;
    }
  }
  return nullptr;
}

TEST(Deployment, PodTemplateHashIsStableAndFollowsTheTemplate) {
  EXPECT_EQ(podTemplateHash(tmpl("v1"), 0), podTemplateHash(tmpl("v1"), 0));
  EXPECT_NE(podTemplateHash(tmpl("v1"), 0), podTemplateHash(tmpl("v2"), 0));
  EXPECT_NE(podTemplateHash(tmpl("v1"), 0), podTemplateHash(tmpl("v1"), 1));
  json restarted = tmpl("v1");
  restarted["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] =
      "2026-12-06T03:00:00Z";
  EXPECT_NE(podTemplateHash(tmpl("v1"), 0), podTemplateHash(restarted, 0));
  for (char c : podTemplateHash(tmpl("v1"), 0)) {
    EXPECT_NE(std::string_view("bcdfghjklmnpqrstvwxz2456789").find(c), std::string::npos);
  }
}

TEST(Deployment, ANewDeploymentCreatesItsReplicaSetWithRevisionOne) {
  auto d = decideDeployment(deploy(3), {}, kNow);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->create.size(), 1u);
  const json& r = d->create[0];
  std::string hash = podTemplateHash(tmpl("v2"), 0);
  EXPECT_EQ(r["metadata"]["name"], "web-" + hash);
  EXPECT_EQ(r["metadata"]["labels"]["pod-template-hash"], hash);
  EXPECT_EQ(r["spec"]["selector"]["matchLabels"],
            json({{"app", "web"}, {"pod-template-hash", hash}}));
  EXPECT_EQ(r["spec"]["template"]["metadata"]["labels"]["pod-template-hash"], hash);
  EXPECT_EQ(r["spec"]["replicas"], 3);
  EXPECT_EQ(r["metadata"]["annotations"][kRevisionAnnotation], "1");
  EXPECT_EQ(r["metadata"]["annotations"][kDesiredReplicasAnnotation], "3");
  EXPECT_EQ(r["metadata"]["annotations"][kMaxReplicasAnnotation], "4");  // 25% of 3 rounds up
  EXPECT_EQ(r["metadata"]["annotations"]["kubernetes.io/change-cause"], "v2 rollout");
  EXPECT_EQ(r["metadata"]["ownerReferences"][0]["uid"], "d-uid");
  EXPECT_EQ(r["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_EQ(d->annotations[kRevisionAnnotation], "1");
  ASSERT_EQ(d->events.size(), 1u);
  EXPECT_EQ(d->events[0].reason, "ScalingReplicaSet");
  EXPECT_EQ(d->events[0].message, "Scaled up replica set web-" + hash + " from 0 to 3");
  EXPECT_EQ((*conditionOf(d->status, "Progressing"))["reason"], "NewReplicaSetCreated");
  EXPECT_EQ((*conditionOf(d->status, "Available"))["status"], "False");
  EXPECT_EQ(d->status["observedGeneration"], 2);
}

TEST(Deployment, RollingUpdateSurgesThenScalesOldDownWithinMaxUnavailable) {
  json old = rs("v1", 1, 4, 4, 4);
  auto d = decideDeployment(deploy(4, "v2", rolling(1, 1)), {old}, kNow);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->create.size(), 1u);
  EXPECT_EQ(d->create[0]["spec"]["replicas"], 1);  // 4 + surge 1 = 5 pods at most
  EXPECT_EQ(d->create[0]["metadata"]["annotations"][kRevisionAnnotation], "2");
  ASSERT_EQ(d->update.size(), 1u);
  EXPECT_EQ(d->update[0]["spec"]["replicas"], 3);  // 3 available ≥ 4 − 1
  EXPECT_EQ(d->events[1].message, "Scaled down replica set " +
                                      old["metadata"]["name"].get<std::string>() + " from 4 to 3");
  // Next pass: the new pod is not yet available; the surge allows one more new pod only.
  json fresh = rs("v2", 2, 1, 1, 0, "2026-12-06T02:00:00Z", 4);
  json older = rs("v1", 1, 3, 3, 3, "2026-12-06T01:00:00Z", 4);
  d = decideDeployment(deploy(4, "v2", rolling(1, 1)), {older, fresh}, kNow);
  ASSERT_EQ(d->update.size(), 1u);
  EXPECT_EQ(d->update[0]["metadata"]["name"], fresh["metadata"]["name"]);
  EXPECT_EQ(d->update[0]["spec"]["replicas"], 2);
  // Surge exhausted and nothing available to spare: no move.
  fresh["spec"]["replicas"] = 2;
  d = decideDeployment(deploy(4, "v2", rolling(1, 1)), {older, fresh}, kNow);
  EXPECT_TRUE(d->update.empty());
  EXPECT_TRUE(d->create.empty());
}

TEST(Deployment, UnavailableOldReplicasAreScaledDownFirst) {
  json old = rs("v1", 1, 4, 4, 2, "2026-12-06T01:00:00Z", 4);
  json fresh = rs("v2", 2, 1, 1, 1, "2026-12-06T02:00:00Z", 4);
  // Σ spec 5, floor 3, new unavailable 0 → 2 may go; both unhealthy ones go first.
  auto d = decideDeployment(deploy(4, "v2", rolling(1, 1)), {old, fresh}, kNow);
  ASSERT_EQ(d->update.size(), 1u);
  EXPECT_EQ(d->update[0]["spec"]["replicas"], 2);
}

TEST(Deployment, PercentagesRoundSurgeUpAndUnavailableDown) {
  auto d = decideDeployment(deploy(10), {rs("v1", 1, 10, 10, 10)}, kNow);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->create[0]["metadata"]["annotations"][kMaxReplicasAnnotation], "13");
  EXPECT_EQ(d->create[0]["spec"]["replicas"], 3);
  EXPECT_EQ(d->update[0]["spec"]["replicas"], 8);  // 25% of 10 rounds down to 2
}

TEST(Deployment, ZeroSurgeAndZeroUnavailableStillAdvances) {
  auto d = decideDeployment(deploy(2, "v2", rolling(0, 0)), {rs("v1", 1, 2, 2, 2)}, kNow);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->create[0]["spec"]["replicas"], 0);
  EXPECT_EQ(d->update[0]["spec"]["replicas"], 1);
}

TEST(Deployment, BadStrategyValuesNameTheField) {
  auto d = decideDeployment(deploy(2, "v2", rolling("lots", 0)), {}, kNow);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("spec.strategy.rollingUpdate.maxSurge"), std::string::npos);
}

TEST(Deployment, RecreateEmptiesOldReplicaSetsBeforeCreatingTheNew) {
  json strategy = {{"type", "Recreate"}};
  auto d = decideDeployment(deploy(3, "v2", strategy), {rs("v1", 1, 3, 3, 3)}, kNow);
  EXPECT_TRUE(d->create.empty());
  ASSERT_EQ(d->update.size(), 1u);
  EXPECT_EQ(d->update[0]["spec"]["replicas"], 0);
  // Scaled to zero but pods still reported: wait.
  d = decideDeployment(deploy(3, "v2", strategy), {rs("v1", 1, 0, 2, 0)}, kNow);
  EXPECT_TRUE(d->create.empty());
  EXPECT_EQ(d->reason, "recreate: waiting for old pods to terminate");
  // A terminating pod of the old ReplicaSet also holds the new one back.
  json pod = {{"metadata", {{"ownerReferences", {{{"uid", "rs-v1"}}}}}},
              {"status", {{"phase", "Running"}}}};
  d = decideDeployment(deploy(3, "v2", strategy), {rs("v1", 1, 0, 0, 0)}, kNow, {pod});
  EXPECT_TRUE(d->create.empty());
  d = decideDeployment(deploy(3, "v2", strategy), {rs("v1", 1, 0, 0, 0)}, kNow);
  ASSERT_EQ(d->create.size(), 1u);
  EXPECT_EQ(d->create[0]["spec"]["replicas"], 3);
  EXPECT_EQ(d->create[0]["metadata"]["annotations"][kMaxReplicasAnnotation], "3");
}

TEST(Deployment, ScalingASettledDeploymentResizesItsOnlyReplicaSet) {
  json current = rs("v2", 1, 3, 3, 3, "2026-12-06T01:00:00Z", 3);
  auto d = decideDeployment(deploy(5), {current}, kNow);
  ASSERT_EQ(d->update.size(), 1u);
  EXPECT_EQ(d->update[0]["spec"]["replicas"], 5);
  EXPECT_EQ(d->update[0]["metadata"]["annotations"][kDesiredReplicasAnnotation], "5");
  EXPECT_EQ(d->reason, "scaling event, replica sets resized");
}

TEST(Deployment, ScalingMidRolloutSpreadsReplicasInProportion) {
  json d_obj = deploy(20, "v2", rolling(5, 0));
  json old = rs("v1", 1, 8, 8, 8, "2026-12-06T01:00:00Z", 10);
  old["metadata"]["annotations"][kMaxReplicasAnnotation] = "13";
  json fresh = rs("v2", 2, 5, 5, 0, "2026-12-06T02:00:00Z", 10);
  fresh["metadata"]["annotations"][kMaxReplicasAnnotation] = "13";
  auto d = decideDeployment(d_obj, {old, fresh}, kNow);
  ASSERT_EQ(d->update.size(), 2u);
  // 25 allowed: 8 × 25/13 ≈ 15, 5 × 25/13 ≈ 10.
  EXPECT_EQ(d->update[0]["spec"]["replicas"], 15);
  EXPECT_EQ(d->update[1]["spec"]["replicas"], 10);
}

TEST(Deployment, StatusOfACompletedRollout) {
  json done = rs("v2", 1, 3, 3, 3, "2026-12-06T01:00:00Z", 3);
  json d_obj = deploy(3);
  auto d = decideDeployment(d_obj, {done}, kNow);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->create.empty() && d->update.empty());
  EXPECT_EQ(d->status["replicas"], 3);
  EXPECT_EQ(d->status["updatedReplicas"], 3);
  EXPECT_EQ(d->status["readyReplicas"], 3);
  EXPECT_EQ(d->status["availableReplicas"], 3);
  EXPECT_EQ(d->status["unavailableReplicas"], 0);
  const json* progressing = conditionOf(d->status, "Progressing");
  ASSERT_TRUE(progressing);
  EXPECT_EQ((*progressing)["reason"], "NewReplicaSetAvailable");
  EXPECT_EQ((*progressing)["message"], "ReplicaSet \"" +
                                           done["metadata"]["name"].get<std::string>() +
                                           "\" has successfully progressed.");
  EXPECT_EQ((*conditionOf(d->status, "Available"))["reason"], "MinimumReplicasAvailable");
}

TEST(Deployment, NoProgressPastTheDeadlineMarksProgressDeadlineExceeded) {
  json d_obj = deploy(3);
  d_obj["spec"]["progressDeadlineSeconds"] = 60;
  json stuck = rs("v2", 1, 3, 3, 1, "2026-12-06T01:00:00Z", 3);
  d_obj["status"] = {{"replicas", 3},
                     {"updatedReplicas", 3},
                     {"readyReplicas", 1},
                     {"availableReplicas", 1},
                     {"observedGeneration", 2},
                     {"conditions",
                      {{{"type", "Progressing"},
                        {"status", "True"},
                        {"reason", "ReplicaSetUpdated"},
                        {"lastUpdateTime", "2026-12-06T02:58:30Z"},
                        {"lastTransitionTime", "2026-12-06T02:50:00Z"}}}}};
  auto d = decideDeployment(d_obj, {stuck}, kNow);
  EXPECT_EQ((*conditionOf(d->status, "Progressing"))["reason"], "ProgressDeadlineExceeded");
  EXPECT_EQ((*conditionOf(d->status, "Progressing"))["status"], "False");
  // Within the deadline nothing changes.
  d = decideDeployment(d_obj, {stuck}, *api::parseRfc3339("2026-12-06T02:59:00Z"));
  EXPECT_EQ((*conditionOf(d->status, "Progressing"))["reason"], "ReplicaSetUpdated");
  // Progress (one more available pod) refreshes lastUpdateTime and keeps the transition time.
  stuck["status"]["availableReplicas"] = 2;
  d = decideDeployment(d_obj, {stuck}, kNow);
  const json* c = conditionOf(d->status, "Progressing");
  EXPECT_EQ((*c)["reason"], "ReplicaSetUpdated");
  EXPECT_EQ((*c)["lastUpdateTime"], "2026-12-06T03:00:00Z");
  EXPECT_EQ((*c)["lastTransitionTime"], "2026-12-06T02:50:00Z");
}

TEST(Deployment, UndoReusesTheOldReplicaSetUnderTheNextRevision) {
  // kubectl rollout undo patched the template back to v1.
  json d_obj = deploy(3, "v1");
  json v1 = rs("v1", 1, 0, 0, 0, "2026-12-06T01:00:00Z", 3);
  json v2 = rs("v2", 2, 3, 3, 3, "2026-12-06T02:00:00Z", 3);
  auto d = decideDeployment(d_obj, {v1, v2}, kNow);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->create.empty());
  ASSERT_FALSE(d->update.empty());
  const json& reused = d->update[0];
  EXPECT_EQ(reused["metadata"]["name"], v1["metadata"]["name"]);
  EXPECT_EQ(reused["metadata"]["annotations"][kRevisionAnnotation], "3");
  EXPECT_EQ(reused["metadata"]["annotations"][kRevisionHistoryAnnotation], "1");
  EXPECT_EQ(reused["spec"]["replicas"], 1);  // surge of 1 over the 3 of v2
  EXPECT_EQ(d->annotations[kRevisionAnnotation], "3");
}

TEST(Deployment, UndoWithKubectlsZeroValuesStillReusesTheOldReplicaSet) {
  // kubectl rollout undo sends the old template back with Go's zero values in it.
  json d_obj = deploy(3, "v1");
  d_obj["spec"]["template"]["metadata"]["creationTimestamp"] = nullptr;
  d_obj["spec"]["template"]["spec"]["containers"][0]["resources"] = json::object();
  json v1 = rs("v1", 1, 0, 0, 0, "2026-12-06T01:00:00Z", 3);
  json v2 = rs("v2", 2, 3, 3, 3, "2026-12-06T02:00:00Z", 3);
  auto d = decideDeployment(d_obj, {v1, v2}, kNow);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->create.empty());
  ASSERT_FALSE(d->update.empty());
  EXPECT_EQ(d->update[0]["metadata"]["name"], v1["metadata"]["name"]);
}

TEST(Deployment, CompleteDeploymentsDeleteEmptyReplicaSetsBeyondTheHistoryLimit) {
  json d_obj = deploy(2);
  d_obj["spec"]["revisionHistoryLimit"] = 1;
  d_obj["status"] = {
      {"replicas", 2}, {"updatedReplicas", 2}, {"availableReplicas", 2}, {"observedGeneration", 2}};
  json a = rs("a", 1, 0, 0, 0, "2026-12-06T01:00:00Z");
  json b = rs("b", 2, 0, 1, 0, "2026-12-06T01:10:00Z");  // still has a pod: kept
  json c = rs("c", 3, 0, 0, 0, "2026-12-06T01:20:00Z");
  json current = rs("v2", 4, 2, 2, 2, "2026-12-06T01:30:00Z", 2);
  auto d = decideDeployment(d_obj, {c, a, current, b}, kNow);
  EXPECT_EQ(d->delete_names, std::vector<std::string>{a["metadata"]["name"]});
  // An incomplete rollout deletes nothing.
  d_obj["status"]["availableReplicas"] = 1;
  EXPECT_TRUE(decideDeployment(d_obj, {c, a, current, b}, kNow)->delete_names.empty());
}

TEST(Deployment, PausedDeploymentsDoNotRollOut) {
  json d_obj = deploy(3, "v2");
  d_obj["spec"]["paused"] = true;
  auto d = decideDeployment(d_obj, {rs("v1", 1, 3, 3, 3, "2026-12-06T01:00:00Z", 3)}, kNow);
  EXPECT_TRUE(d->create.empty());
  EXPECT_TRUE(d->update.empty());
  EXPECT_EQ((*conditionOf(d->status, "Progressing"))["reason"], "DeploymentPaused");
  EXPECT_EQ((*conditionOf(d->status, "Progressing"))["status"], "Unknown");
}

TEST(Deployment, AvailabilityFollowsMaxUnavailable) {
  json d_obj = deploy(4, "v2", rolling(1, 1));
  auto d = decideDeployment(d_obj, {rs("v2", 1, 4, 4, 3, "2026-12-06T01:00:00Z", 4)}, kNow);
  EXPECT_EQ((*conditionOf(d->status, "Available"))["status"], "True");
  EXPECT_EQ(d->status["unavailableReplicas"], 1);
  d = decideDeployment(d_obj, {rs("v2", 1, 4, 4, 2, "2026-12-06T01:00:00Z", 4)}, kNow);
  EXPECT_EQ((*conditionOf(d->status, "Available"))["status"], "False");
  EXPECT_EQ((*conditionOf(d->status, "Available"))["reason"], "MinimumReplicasUnavailable");
}

// A whole rollout against a simulated ReplicaSet controller (pods appear at once, one per
// ReplicaSet becomes available per step): it converges, and at every step the pods stay within
// replicas + maxSurge and the available ones at or above replicas − maxUnavailable.
TEST(Deployment, ARolloutConvergesWithinItsSurgeAndAvailabilityBounds) {
  const int replicas = 10;  // 25%: maxSurge 3 (up), maxUnavailable 2 (down)
  json d_obj = deploy(replicas, "v2");
  std::vector<json> rss = {
      rs("v1", 1, replicas, replicas, replicas, "2026-12-06T00:00:00Z", replicas)};
  rss[0]["metadata"]["annotations"][kMaxReplicasAnnotation] = "13";
  d_obj["status"] = {{"observedGeneration", 1}};
  int step = 0;
  bool done = false;
  std::vector<std::string> messages;
  for (; step < 100 && !done; ++step) {
    auto now = kNow + std::chrono::seconds(step);
    auto d = decideDeployment(d_obj, rss, now);
    ASSERT_TRUE(d);
    for (auto c : d->create) {
      c["metadata"]["creationTimestamp"] = api::formatRfc3339(now);
      c["metadata"]["uid"] = "uid-" + c["metadata"]["name"].get<std::string>();
      rss.push_back(c);
    }
    for (const auto& u : d->update) {
      for (auto& r : rss) {
        if (r["metadata"]["name"] == u["metadata"]["name"]) {
          r = u;
        }
      }
    }
    for (const auto& e : d->events) {
      messages.push_back(e.message);
    }
    if (!d->annotations.is_null()) {
      d_obj["metadata"]["annotations"] = d->annotations;
    }
    d_obj["status"] = d->status;
    // The ReplicaSet controller and the pods.
    int64_t pods = 0;
    int64_t available = 0;
    for (auto& r : rss) {
      int64_t spec = r["spec"]["replicas"];
      int64_t avail = std::min<int64_t>(
          spec, r.value("/status/availableReplicas"_json_pointer, int64_t{0}) + 1);
      r["status"] = {{"replicas", spec}, {"readyReplicas", avail}, {"availableReplicas", avail}};
      pods += spec;
      available += avail;
    }
    EXPECT_LE(pods, replicas + 3) << "step " << step;
    EXPECT_GE(available, replicas - 2) << "step " << step;
    const json* progressing = conditionOf(d->status, "Progressing");
    done = progressing && (*progressing)["reason"] == "NewReplicaSetAvailable";
  }
  ASSERT_TRUE(done) << "no convergence in 100 steps";
  EXPECT_LT(step, 30);
  EXPECT_EQ(rss.size(), 2u);
  EXPECT_EQ(rss[0]["spec"]["replicas"], 0);
  EXPECT_EQ(rss[1]["spec"]["replicas"], replicas);
  EXPECT_EQ(d_obj["metadata"]["annotations"][kRevisionAnnotation], "2");
  // Kubernetes' pattern: surge 3, then old down to the availability floor, then alternate.
  std::string fresh = rss[1]["metadata"]["name"];
  std::string old = rss[0]["metadata"]["name"];
  EXPECT_EQ(messages,
            (std::vector<std::string>{"Scaled up replica set " + fresh + " from 0 to 3",
                                      "Scaled down replica set " + old + " from 10 to 8",
                                      "Scaled up replica set " + fresh + " from 3 to 5",
                                      "Scaled down replica set " + old + " from 8 to 6",
                                      "Scaled up replica set " + fresh + " from 5 to 7",
                                      "Scaled down replica set " + old + " from 6 to 4",
                                      "Scaled up replica set " + fresh + " from 7 to 9",
                                      "Scaled down replica set " + old + " from 4 to 2",
                                      "Scaled up replica set " + fresh + " from 9 to 10",
                                      "Scaled down replica set " + old + " from 2 to 0"}));
}

// Recreate against a simulated ReplicaSet controller whose pods take a step to terminate: no
// new pod exists while an old one still runs, and the rollout completes.
TEST(Deployment, ARecreateRolloutNeverRunsOldAndNewPodsTogether) {
  json d_obj = deploy(3, "v2", {{"type", "Recreate"}});
  std::vector<json> rss = {rs("v1", 1, 3, 3, 3, "2026-12-06T00:00:00Z", 3)};
  bool done = false;
  int step = 0;
  for (; step < 50 && !done; ++step) {
    auto now = kNow + std::chrono::seconds(step);
    auto d = decideDeployment(d_obj, rss, now);
    ASSERT_TRUE(d);
    for (auto c : d->create) {
      c["metadata"]["creationTimestamp"] = api::formatRfc3339(now);
      rss.push_back(c);
    }
    for (const auto& u : d->update) {
      for (auto& r : rss) {
        if (r["metadata"]["name"] == u["metadata"]["name"]) {
          r = u;
        }
      }
    }
    d_obj["status"] = d->status;
    int64_t old_pods = 0;
    int64_t new_pods = 0;
    for (size_t i = 0; i < rss.size(); ++i) {
      json& r = rss[i];
      int64_t spec = r["spec"]["replicas"];
      int64_t have = r.value("/status/replicas"_json_pointer, int64_t{0});
      // Pods appear at once but go one step late (graceful termination).
      int64_t next = spec >= have ? spec : have - 1 < spec ? spec : have - 1;
      int64_t avail = std::min<int64_t>(
          next, r.value("/status/availableReplicas"_json_pointer, int64_t{0}) + 1);
      r["status"] = {{"replicas", next}, {"readyReplicas", avail}, {"availableReplicas", avail}};
      (i == 0 ? old_pods : new_pods) += next;
    }
    EXPECT_FALSE(old_pods > 0 && new_pods > 0) << "step " << step;
    const json* progressing = conditionOf(d->status, "Progressing");
    done = progressing && (*progressing)["reason"] == "NewReplicaSetAvailable";
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(rss.size(), 2u);
  EXPECT_EQ(rss[1]["spec"]["replicas"], 3);
}

}  // namespace
}  // namespace rampart::controller

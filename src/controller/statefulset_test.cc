#include "controller/statefulset.h"

#include <gtest/gtest.h>

namespace rampart::controller {
namespace {
using json = nlohmann::json;

json set(int replicas, const std::string& policy = "OrderedReady") {
  return {{"metadata", {{"name", "web"}, {"namespace", "default"}, {"uid", "s1"}, {"generation", 2}}},
          {"spec",
           {{"replicas", replicas},
            {"serviceName", "web"},
            {"podManagementPolicy", policy},
            {"selector", {{"matchLabels", {{"app", "web"}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec", {{"containers", {{{"name", "c"}, {"command", {"sleep", "1"}}}}}}}}}}}};
}

json pod(const json& s, int ordinal, bool ready, std::string revision = "") {
  json p = {{"metadata",
             {{"name", "web-" + std::to_string(ordinal)},
              {"namespace", "default"},
              {"labels", {{"app", "web"}, {kRevisionLabel, revision.empty() ? templateRevision(s) : revision}}}}},
            {"status",
             {{"phase", ready ? "Running" : "Pending"},
              {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
  return p;
}

std::vector<std::string> names(const std::vector<json>& pods) {
  std::vector<std::string> out;
  for (const auto& p : pods) {
    out.push_back(p["metadata"]["name"]);
  }
  return out;
}

TEST(StatefulSet, OrderedReadyMakesOnePodAtATimeEachAfterThePreviousIsReady) {
  json s = set(3);
  auto d = decideStatefulSet(s, {});
  EXPECT_EQ(names(d.create), std::vector<std::string>{"web-0"});
  const json& p0 = d.create[0];
  EXPECT_EQ(p0["metadata"]["labels"][kStatefulSetPodNameLabel], "web-0");
  EXPECT_EQ(p0["metadata"]["labels"][kPodIndexLabel], "0");
  EXPECT_EQ(p0["spec"]["hostname"], "web-0");
  EXPECT_EQ(p0["spec"]["subdomain"], "web");
  EXPECT_EQ(p0["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");

  d = decideStatefulSet(s, {pod(s, 0, false)});
  EXPECT_TRUE(d.create.empty()) << "web-1 waits for web-0 to be Ready";
  d = decideStatefulSet(s, {pod(s, 0, true)});
  EXPECT_EQ(names(d.create), std::vector<std::string>{"web-1"});
}

TEST(StatefulSet, ParallelMakesEveryMissingPodAtOnce) {
  json s = set(3, "Parallel");
  auto d = decideStatefulSet(s, {pod(s, 1, false)});
  EXPECT_EQ(names(d.create), (std::vector<std::string>{"web-0", "web-2"}));
}

TEST(StatefulSet, APodWhoseObjectStillExistsIsNeverMadeAgain) {
  json s = set(2);
  json going = pod(s, 0, true);
  going["metadata"]["deletionTimestamp"] = "2026-12-06T22:00:00Z";
  auto d = decideStatefulSet(s, {going, pod(s, 1, true)});
  EXPECT_TRUE(d.create.empty()) << "web-0 is made again only once its old object is gone";
  d = decideStatefulSet(s, {pod(s, 1, true)});
  EXPECT_EQ(names(d.create), std::vector<std::string>{"web-0"});
}

TEST(StatefulSet, ScaleDownRemovesTheHighestOrdinalFirstOneAtATime) {
  json s = set(1);
  auto d = decideStatefulSet(s, {pod(s, 0, true), pod(s, 1, true), pod(s, 2, true)});
  EXPECT_EQ(d.remove, std::vector<std::string>{"web-2"});
  json going = pod(s, 2, true);
  going["metadata"]["deletionTimestamp"] = "2026-12-06T22:00:00Z";
  d = decideStatefulSet(s, {pod(s, 0, true), pod(s, 1, true), going});
  EXPECT_TRUE(d.remove.empty()) << "web-1 waits for web-2 to be gone";
}

TEST(StatefulSet, AFailedPodIsDeletedToBeMadeAgain) {
  json s = set(1);
  json failed = pod(s, 0, false);
  failed["status"]["phase"] = "Failed";
  auto d = decideStatefulSet(s, {failed});
  EXPECT_EQ(d.remove, std::vector<std::string>{"web-0"});
  EXPECT_TRUE(d.create.empty());
}

TEST(StatefulSet, ARollingUpdateReplacesFromTheHighestOrdinalDownToThePartition) {
  json s = set(3);
  std::string old_revision = "web-old";
  std::vector<json> pods = {pod(s, 0, true, old_revision), pod(s, 1, true, old_revision),
                            pod(s, 2, true, old_revision)};
  auto d = decideStatefulSet(s, pods);
  EXPECT_EQ(d.remove, std::vector<std::string>{"web-2"});
  pods[2] = pod(s, 2, true);  // made again at the new revision
  s["spec"]["updateStrategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 2}}}};
  d = decideStatefulSet(s, pods);
  EXPECT_TRUE(d.remove.empty()) << "ordinals under the partition keep the old revision";
  s["spec"]["updateStrategy"] = {{"type", "OnDelete"}};
  EXPECT_TRUE(decideStatefulSet(s, {pod(s, 0, true, old_revision)}).remove.empty());
}

TEST(StatefulSet, StatusCountsReadyCurrentAndUpdatedPods) {
  json s = set(2);
  auto d = decideStatefulSet(s, {pod(s, 0, true), pod(s, 1, false)});
  EXPECT_EQ(d.status["replicas"], 2);
  EXPECT_EQ(d.status["readyReplicas"], 1);
  EXPECT_EQ(d.status["updatedReplicas"], 2);
  EXPECT_EQ(d.status["currentRevision"], templateRevision(s));
  EXPECT_EQ(d.status["observedGeneration"], 2);
}

TEST(StatefulSet, OrdinalsAreReadOnlyFromTheSetsOwnNames) {
  EXPECT_EQ(ordinalOf("web", "web-12"), 12);
  EXPECT_EQ(ordinalOf("web", "web-01"), -1);
  EXPECT_EQ(ordinalOf("web", "webx-1"), -1);
  EXPECT_EQ(ordinalOf("web", "web-"), -1);
  EXPECT_EQ(ordinalOf("web", "web-a"), -1);
}

}  // namespace
}  // namespace rampart::controller

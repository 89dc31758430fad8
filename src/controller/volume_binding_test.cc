#include "controller/volume_binding.h"

#include <map>

#include <gtest/gtest.h>

#include "controller/scheduler.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;

json claim(const std::string& name, const std::string& node = "") {
  json c = {
      {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "u-" + name}}},
      {"spec",
       {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  if (!node.empty()) {
    c["metadata"]["annotations"][kSelectedNodeAnnotation] = node;
    c["status"]["phase"] = "Bound";
  }
  return c;
}

json podWithClaim(const std::string& claim_name) {
  return {{"metadata", {{"name", "web-0"}, {"namespace", "default"}}},
          {"spec",
           {{"containers", {{{"name", "c"}}}},
            {"volumes",
             {{{"name", "data"}, {"persistentVolumeClaim", {{"claimName", claim_name}}}}}}}}};
}

json node(const std::string& name, bool unschedulable = false) {
  json n = {{"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
            {"status",
             {{"allocatable", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}}},
              {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
  if (unschedulable) {
    n["spec"]["unschedulable"] = true;
  }
  return n;
}

struct Claims {
  std::map<std::string, json> items;
  ClaimLookup lookup() {
    return [this](const std::string&, const std::string& name) -> const json* {
      auto it = items.find(name);
      return it == items.end() ? nullptr : &it->second;
    };
  }
};

TEST(VolumeBinding, AnUnboundClaimIsBoundToWhereverThePodGoes) {
  Claims claims{{{"data-web-0", claim("data-web-0")}}};
  PodClaims pc = podClaims(podWithClaim("data-web-0"), claims.lookup());
  EXPECT_TRUE(pc.error.empty());
  EXPECT_TRUE(pc.node.empty());
  EXPECT_EQ(pc.unbound, std::vector<std::string>{"data-web-0"});
  json patch = claimBindPatch(claims.items["data-web-0"], "n2");
  EXPECT_EQ(patch["metadata"]["annotations"][kSelectedNodeAnnotation], "n2");
  EXPECT_EQ(patch["spec"]["volumeName"], "pvc-u-data-web-0");
  json status = claimBoundStatus(claims.items["data-web-0"]);
  EXPECT_EQ(status["status"]["phase"], "Bound");
  EXPECT_EQ(status["status"]["capacity"]["storage"], "1Gi");
  EXPECT_EQ(status["status"]["accessModes"], json({"ReadWriteOnce"}));
}

TEST(VolumeBinding, APodWhoseClaimIsBoundGoesOnlyToThatNode) {
  Claims claims{{{"data-web-0", claim("data-web-0", "n2")}}};
  json pod = podWithClaim("data-web-0");
  PodClaims pc = podClaims(pod, claims.lookup());
  EXPECT_EQ(pc.node, "n2");
  EXPECT_TRUE(pc.unbound.empty());
  std::vector<json> nodes = {node("n1"), node("n2"), node("n3")};
  // n1 sorts first and would win a tie: only the pin sends it to n2.
  auto d = decideSchedule(pinnedToNode(pod, pc.node), nodes, {});
  EXPECT_EQ(d.node, "n2") << d.message;
}

TEST(VolumeBinding, AClaimPinnedButNotYetBoundIsBoundAgainOnItsNode) {
  Claims claims{{{"data-web-0", claim("data-web-0", "n2")}}};
  claims.items["data-web-0"]["status"]["phase"] = "Pending";
  PodClaims pc = podClaims(podWithClaim("data-web-0"), claims.lookup());
  EXPECT_EQ(pc.node, "n2");
  EXPECT_EQ(pc.unbound, std::vector<std::string>{"data-web-0"});
}

TEST(VolumeBinding, APodPinnedToAGoneOrUnschedulableNodeStaysPendingWithAVolumeConflict) {
  json pod = podWithClaim("data-web-0");
  json pinned = pinnedToNode(pod, "n2");
  auto gone = decideSchedule(pinned, {node("n1"), node("n3")}, {});
  EXPECT_TRUE(gone.node.empty());
  EXPECT_EQ(volumeConflictMessage(pod, gone.message),
            "0/2 nodes are available: 2 node(s) had volume node affinity conflict. preemption: "
            "0/2 nodes are available: 2 Preemption is not helpful for scheduling..");
  auto cordoned = decideSchedule(pinned, {node("n1"), node("n2", true)}, {});
  EXPECT_TRUE(cordoned.node.empty());
  EXPECT_EQ(volumeConflictMessage(pod, cordoned.message),
            "0/2 nodes are available: 1 node(s) had volume node affinity conflict, 1 node(s) "
            "were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not "
            "helpful for scheduling..");
}

TEST(VolumeBinding, PinningKeepsThePodsOwnNodeAffinityTerms) {
  json pod = podWithClaim("c");
  pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
     ["nodeSelectorTerms"] = {
         {{"matchExpressions",
           {{{"key", "kubernetes.io/hostname"}, {"operator", "In"}, {"values", {"n1"}}}}}}};
  auto d = decideSchedule(pinnedToNode(pod, "n2"), {node("n1"), node("n2")}, {});
  EXPECT_TRUE(d.node.empty()) << "n1 is the pod's choice, n2 its claim's: neither fits both";
}

TEST(VolumeBinding, AMissingOrDeletedClaimKeepsThePodPendingWithKubeSchedulersWords) {
  Claims claims;
  EXPECT_EQ(podClaims(podWithClaim("data-web-0"), claims.lookup()).error,
            "persistentvolumeclaim \"data-web-0\" not found");
  claims.items["data-web-0"] = claim("data-web-0");
  claims.items["data-web-0"]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  EXPECT_EQ(podClaims(podWithClaim("data-web-0"), claims.lookup()).error,
            "persistentvolumeclaim \"data-web-0\" is being deleted");
}

TEST(VolumeBinding, APodWithoutClaimsIsNotConcerned) {
  json pod = podWithClaim("x");
  pod["spec"]["volumes"] = json::array({{{"name", "tmp"}, {"emptyDir", json::object()}}});
  Claims claims;
  PodClaims pc = podClaims(pod, claims.lookup());
  EXPECT_TRUE(pc.error.empty());
  EXPECT_TRUE(pc.node.empty());
  EXPECT_TRUE(pc.unbound.empty());
}

TEST(ClaimProtection, ADeletedClaimIsReleasedOnlyOnceNoUnfinishedPodNamesIt) {
  json c = claim("data-web-0", "n1");
  c["metadata"]["finalizers"] = {kClaimProtectionFinalizer, "other"};
  c["metadata"]["resourceVersion"] = "7";
  json running = podWithClaim("data-web-0");
  running["status"]["phase"] = "Running";
  json done = running;
  done["status"]["phase"] = "Succeeded";
  EXPECT_FALSE(claimReleasable(c, {})) << "not being deleted";
  c["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  EXPECT_FALSE(claimReleasable(c, {&running}));
  EXPECT_TRUE(claimReleasable(c, {&done}));
  json elsewhere = running;
  elsewhere["metadata"]["namespace"] = "other";
  EXPECT_TRUE(claimReleasable(c, {&elsewhere}));
  EXPECT_EQ(claimReleasePatch(c),
            (json{{"metadata", {{"finalizers", {"other"}}, {"resourceVersion", "7"}}}}));
  c["metadata"]["finalizers"] = {"other"};
  EXPECT_FALSE(claimReleasable(c, {})) << "no finalizer of ours to remove";
}

}  // namespace
}  // namespace rampart::controller

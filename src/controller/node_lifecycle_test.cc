#include "controller/node_lifecycle.h"

#include <gtest/gtest.h>

#include "controller/taints.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
using std::chrono::seconds;

const api::WallTime kWall = *api::parseRfc3339("2026-12-06T03:00:00Z");
const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

json node(const std::string& ready = "True") {
  json n = {{"metadata", {{"name", "n1"}}}, {"spec", json::object()}, {"status", json::object()}};
  if (!ready.empty()) {
    n["status"]["conditions"] = {{{"type", "Ready"},
                                  {"status", ready},
                                  {"lastHeartbeatTime", "2026-12-06T02:59:00Z"},
                                  {"lastTransitionTime", "2026-12-06T01:00:00Z"}},
                                 {{"type", "MemoryPressure"}, {"status", "False"}}};
  }
  return n;
}

json lease(const std::string& renew) {
  return {{"metadata", {{"name", "n1"}, {"namespace", "kube-node-lease"}}},
          {"spec", {{"holderIdentity", "n1"}, {"renewTime", renew}}}};
}

json readyPod(const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", {{"nodeName", "n1"}}},
          {"status",
           {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

const json* condition(const json& conditions, const std::string& type) {
  for (const auto& c : conditions) {
    if (c["type"] == type) {
      return &c;
    }
  }
  return nullptr;
}

TEST(NodeLifecycle, ExpiryCountsFromWhenTheControllerSawTheLeaseChange) {
  NodeProbe probe;
  json n = node();
  // The writer's renewTime is far in the future (skewed clock): it changes nothing.
  observeNode(probe, n, lease("2030-01-01T00:00:00.000000Z"), kT0);
  observeNode(probe, n, lease("2030-01-01T00:00:00.000000Z"), kT0 + seconds(30));
  EXPECT_EQ(probe.last_change, kT0);
  NodeLifecycleConfig config{seconds(40), seconds(50)};
  auto d = decideNodeLifecycle(n, probe, kT0 + seconds(40), kWall, config, {});
  EXPECT_TRUE(d.alive);
  EXPECT_TRUE(d.conditions.is_null());
  EXPECT_TRUE(d.taints.is_null());
  // A renewal seen at 35 s restarts the grace.
  observeNode(probe, n, lease("2030-01-01T00:00:01.000000Z"), kT0 + seconds(35));
  EXPECT_TRUE(decideNodeLifecycle(n, probe, kT0 + seconds(70), kWall, config, {}).alive);
  EXPECT_FALSE(decideNodeLifecycle(n, probe, kT0 + seconds(76), kWall, config, {}).alive);
}

TEST(NodeLifecycle, ANewLeaderGivesEveryNodeAFullGrace) {
  NodeProbe probe;
  // The Lease was last renewed long ago by the writer's clock; we have only just looked.
  observeNode(probe, node(), lease("2026-12-06T01:00:00.000000Z"), kT0);
  EXPECT_TRUE(decideNodeLifecycle(node(), probe, kT0 + seconds(39), kWall, {}, {}).alive);
}

TEST(NodeLifecycle, ASilentNodeBecomesUnknownTaintedAndItsPodsNotReady) {
  NodeProbe probe;
  observeNode(probe, node(), lease("t1"), kT0);
  auto d = decideNodeLifecycle(node(), probe, kT0 + seconds(41), kWall, {}, {readyPod("a")});
  EXPECT_FALSE(d.alive);
  ASSERT_TRUE(d.conditions.is_array());
  const json* ready = condition(d.conditions, "Ready");
  EXPECT_EQ((*ready)["status"], "Unknown");
  EXPECT_EQ((*ready)["reason"], "NodeStatusUnknown");
  EXPECT_EQ((*ready)["message"], "Kubelet stopped posting node status.");
  EXPECT_EQ((*ready)["lastTransitionTime"], "2026-12-06T03:00:00Z");
  EXPECT_EQ((*ready)["lastHeartbeatTime"], "2026-12-06T02:59:00Z");  // kept
  EXPECT_EQ((*condition(d.conditions, "MemoryPressure"))["status"], "Unknown");
  ASSERT_EQ(d.taints.size(), 2u);
  EXPECT_EQ(d.taints[0], json({{"key", kTaintUnreachable}, {"effect", "NoSchedule"}}));
  EXPECT_EQ(d.taints[1]["key"], kTaintUnreachable);
  EXPECT_EQ(d.taints[1]["effect"], "NoExecute");
  EXPECT_EQ(d.taints[1]["timeAdded"], "2026-12-06T03:00:00Z");
  EXPECT_EQ(d.pods_not_ready, std::vector<std::string>{"default/a"});
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].reason, "NodeNotReady");
  EXPECT_EQ(d.events[0].message, "Node n1 status is now: NodeNotReady");
}

TEST(NodeLifecycle, OurOwnUnknownWriteIsNoSignOfLife) {
  NodeProbe probe;
  NodeLifecycleConfig config{seconds(10), seconds(15)};
  observeNode(probe, node(), lease("t1"), kT0);
  auto d = decideNodeLifecycle(node(), probe, kT0 + seconds(11), kWall, config, {});
  json written = node();
  written["status"]["conditions"] = d.conditions;
  observeNode(probe, written, lease("t1"), kT0 + seconds(12));
  d = decideNodeLifecycle(written, probe, kT0 + seconds(15), kWall, config, {});
  EXPECT_FALSE(d.alive);
  EXPECT_TRUE(d.fenced);
  EXPECT_TRUE(d.conditions.is_null());  // already Unknown: nothing more to write
  // A heartbeat from the agent is.
  written["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-12-06T03:00:05Z";
  observeNode(probe, written, lease("t1"), kT0 + seconds(16));
  EXPECT_TRUE(decideNodeLifecycle(written, probe, kT0 + seconds(17), kWall, config, {}).alive);
}

TEST(NodeLifecycle, ANodeThatNeverPostedReadyIsMarkedNeverUpdated) {
  NodeProbe probe;
  observeNode(probe, node(""), json(), kT0);
  auto d = decideNodeLifecycle(node(""), probe, kT0 + seconds(41), kWall, {}, {});
  const json* ready = condition(d.conditions, "Ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ((*ready)["reason"], "NodeStatusNeverUpdated");
  EXPECT_EQ((*ready)["message"], "Kubelet never posted node status.");
  // Within the grace a registering node without Ready is left as it is.
  EXPECT_TRUE(
      decideNodeLifecycle(node(""), probe, kT0 + seconds(1), kWall, {}, {}).taints.is_null());
}

TEST(NodeLifecycle, NotReadyNodesGetTheNotReadyTaintsAndHealthyOnesLoseThem) {
  NodeProbe probe;
  observeNode(probe, node("False"), lease("t1"), kT0);
  auto d = decideNodeLifecycle(node("False"), probe, kT0, kWall, {}, {});
  ASSERT_EQ(d.taints.size(), 2u);
  EXPECT_EQ(d.taints[0]["key"], kTaintNotReady);
  EXPECT_EQ(d.taints[1]["key"], kTaintNotReady);
  EXPECT_TRUE(d.conditions.is_null());  // the agent's own report stands
  // Back to Ready: the condition taints go, others stay.
  json healthy = node("True");
  healthy["spec"]["taints"] = d.taints;
  healthy["spec"]["taints"].push_back({{"key", "dedicated"}, {"effect", "NoSchedule"}});
  d = decideNodeLifecycle(healthy, probe, kT0, kWall, {}, {});
  ASSERT_EQ(d.taints.size(), 1u);
  EXPECT_EQ(d.taints[0]["key"], "dedicated");
  // Nothing to change: nothing written.
  healthy["spec"]["taints"] = d.taints;
  EXPECT_TRUE(decideNodeLifecycle(healthy, probe, kT0, kWall, {}, {}).taints.is_null());
}

TEST(NodeLifecycle, ACordonedNodeCarriesTheUnschedulableTaintUntilUncordoned) {
  NodeProbe probe;
  json cordoned = node("True");
  cordoned["spec"]["unschedulable"] = true;
  observeNode(probe, cordoned, lease("t1"), kT0);
  auto d = decideNodeLifecycle(cordoned, probe, kT0, kWall, {}, {});
  ASSERT_EQ(d.taints.size(), 1u);
  EXPECT_EQ(d.taints[0]["key"], kTaintUnschedulable);
  EXPECT_EQ(d.taints[0]["effect"], "NoSchedule");
  EXPECT_FALSE(d.taints[0].contains("timeAdded")) << "only NoExecute taints carry timeAdded";
  cordoned["spec"]["taints"] = d.taints;
  EXPECT_TRUE(decideNodeLifecycle(cordoned, probe, kT0, kWall, {}, {}).taints.is_null())
      << "already there: nothing written";
  // A cordoned node that is also NotReady carries both; one still registering (no Ready yet)
  // gets the cordon's taint all the same.
  json both = cordoned;
  both["status"] = node("False")["status"];
  EXPECT_EQ(decideNodeLifecycle(both, probe, kT0, kWall, {}, {}).taints.size(), 3u);
  json registering = node("");
  registering["spec"]["unschedulable"] = true;
  EXPECT_EQ(decideNodeLifecycle(registering, probe, kT0, kWall, {}, {}).taints.size(), 1u);
  // Uncordoned: the taint goes, others stay.
  json uncordoned = cordoned;
  uncordoned["spec"].erase("unschedulable");
  uncordoned["spec"]["taints"].push_back({{"key", "dedicated"}, {"effect", "NoSchedule"}});
  d = decideNodeLifecycle(uncordoned, probe, kT0, kWall, {}, {});
  ASSERT_EQ(d.taints.size(), 1u);
  EXPECT_EQ(d.taints[0]["key"], "dedicated");
}

TEST(NodeLifecycle, FencedOnlyAfterTheFencingDelay) {
  NodeProbe probe;
  observeNode(probe, node(), lease("t1"), kT0);
  NodeLifecycleConfig config{seconds(10), seconds(15)};
  EXPECT_FALSE(decideNodeLifecycle(node(), probe, kT0 + seconds(12), kWall, config, {}).fenced);
  EXPECT_TRUE(decideNodeLifecycle(node(), probe, kT0 + seconds(15), kWall, config, {}).fenced);
}

// Taint manager.

json taintedNode(const std::string& key, const std::string& added) {
  json n = node("Unknown");
  n["spec"]["taints"] = {{{"key", key}, {"effect", "NoExecute"}, {"timeAdded", added}}};
  return n;
}

json podTolerating(const std::string& name, json tolerations) {
  json p = readyPod(name);
  p["spec"]["tolerations"] = tolerations;
  return p;
}

TEST(TaintManager, PodsNotToleratingANoExecuteTaintAreEvictedAtOnce) {
  json n = taintedNode("dedicated", "2026-12-06T02:59:59Z");
  auto d = decideTaintEvictions(n, {readyPod("a")}, kWall, false);
  ASSERT_EQ(d.evict.size(), 1u);
  EXPECT_EQ(d.evict[0].pod, "default/a");
  EXPECT_EQ(d.evict[0].condition["type"], "DisruptionTarget");
  EXPECT_EQ(d.evict[0].condition["reason"], "DeletionByTaintManager");
  EXPECT_EQ(d.evict[0].condition["message"], "Taint manager: deleting due to NoExecute taint");
  EXPECT_EQ(d.evict[0].event.reason, "TaintManagerEviction");
  EXPECT_EQ(d.evict[0].event.message, "Marking for deletion Pod default/a");
}

TEST(TaintManager, TolerationSecondsCountFromTheTaintsTimeAdded) {
  json n = taintedNode("maintenance", "2026-12-06T02:59:00Z");
  json p = podTolerating("a", {{{"key", "maintenance"},
                                {"operator", "Exists"},
                                {"effect", "NoExecute"},
                                {"tolerationSeconds", 90}}});
  auto d = decideTaintEvictions(n, {p}, kWall, false);
  EXPECT_TRUE(d.evict.empty());
  ASSERT_TRUE(d.next_check);
  EXPECT_EQ(api::formatRfc3339(*d.next_check), "2026-12-06T03:00:30Z");
  d = decideTaintEvictions(n, {p}, kWall + seconds(30), false);
  EXPECT_EQ(d.evict.size(), 1u);
  // Without seconds the toleration holds for ever.
  p["spec"]["tolerations"][0].erase("tolerationSeconds");
  d = decideTaintEvictions(n, {p}, kWall + std::chrono::hours(24), false);
  EXPECT_TRUE(d.evict.empty());
  EXPECT_FALSE(d.next_check);
}

TEST(TaintManager, DefaultTolerationsApplyOnlyToPodsWithoutTheirOwn) {
  json n = taintedNode(kTaintNotReady, "2026-12-06T02:59:00Z");
  TaintManagerConfig config{30, 30};
  auto d = decideTaintEvictions(n, {readyPod("a")}, kWall, true, config);
  EXPECT_EQ(d.evict.size(), 1u);  // 60 s since the taint > 30 s default
  json keeps = podTolerating(
      "b", {{{"key", kTaintNotReady}, {"operator", "Exists"}, {"effect", "NoExecute"}}});
  EXPECT_TRUE(decideTaintEvictions(n, {keeps}, kWall, true, config).evict.empty());
  config.not_ready_toleration_seconds.reset();  // no default: evicted as soon as tainted
  EXPECT_EQ(decideTaintEvictions(n, {readyPod("a")}, kWall, true, config).evict.size(), 1u);
}

TEST(TaintManager, EvictionsFromAnUnreachableNodeWaitForItsFencing) {
  json n = taintedNode(kTaintUnreachable, "2026-12-06T02:50:00Z");
  TaintManagerConfig config{0, 0};
  auto d = decideTaintEvictions(n, {readyPod("a")}, kWall, false, config);
  EXPECT_TRUE(d.evict.empty());
  EXPECT_EQ(d.held_until_fenced, std::vector<std::string>{"default/a"});
  d = decideTaintEvictions(n, {readyPod("a")}, kWall, true, config);
  EXPECT_EQ(d.evict.size(), 1u);
}

TEST(TaintManager, AReplicaSetsPodLeavesAnUnreachableNodeAtOnceOthersWaitForTheFence) {
  json n = taintedNode(kTaintUnreachable, "2026-12-06T02:50:00Z");
  TaintManagerConfig config{0, 0};
  auto ownedBy = [](const std::string& name, const std::string& kind, const std::string& api) {
    json p = readyPod(name);
    p["metadata"]["ownerReferences"] = {
        {{"apiVersion", api}, {"kind", kind}, {"name", "owner"}, {"uid", "u"}, {"controller", true}}};
    return p;
  };
  json replica = ownedBy("replica", "ReplicaSet", "apps/v1");
  json unique = ownedBy("unique", "ReplicaSet", "apps/v1");
  unique["metadata"]["annotations"] = {{kUniqueAnnotation, "true"}};
  json member = ownedBy("member", "StatefulSet", "apps/v1");
  auto d = decideTaintEvictions(n, {replica, unique, member, readyPod("bare")}, kWall, false,
                                config);
  ASSERT_EQ(d.evict.size(), 1u);
  EXPECT_EQ(d.evict[0].pod, "default/replica");
  EXPECT_EQ(d.held_until_fenced,
            (std::vector<std::string>{"default/unique", "default/member", "default/bare"}));
}

TEST(TaintManager, PodsAlreadyLeavingOrFinishedAreLeftAlone) {
  json n = taintedNode("dedicated", "2026-12-06T02:59:59Z");
  json going = readyPod("a");
  going["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:00Z";
  json done = readyPod("b");
  done["status"]["phase"] = "Succeeded";
  EXPECT_TRUE(decideTaintEvictions(n, {going, done}, kWall, true).evict.empty());
  json clean = node();
  EXPECT_TRUE(decideTaintEvictions(clean, {readyPod("c")}, kWall, true).evict.empty());
}

}  // namespace
}  // namespace rampart::controller

namespace rampart::controller {
namespace {

TEST(NodeLifecycleView, AControllerThatHearsNothingFromTheApiHoldsAndDiscountsTheSilence) {
  using namespace std::chrono_literals;
  ViewFreshness view;
  TimePoint t0{};
  EXPECT_TRUE(observeView(view, 1, t0, 500ms).fresh);
  // Bookmarks keep a quiet watch fresh.
  EXPECT_TRUE(observeView(view, 2, t0 + 250ms, 500ms).fresh);
  EXPECT_TRUE(observeView(view, 2, t0 + 700ms, 500ms).fresh) << "450 ms of silence is within";
  auto blind = observeView(view, 2, t0 + 800ms, 500ms);
  EXPECT_FALSE(blind.fresh) << "550 ms without a word: the stream is held by a stalled server";
  EXPECT_FALSE(blind.regained);
  EXPECT_FALSE(observeView(view, 2, t0 + 3s, 500ms).fresh);
  auto back = observeView(view, 3, t0 + 3250ms, 500ms);
  EXPECT_TRUE(back.fresh);
  EXPECT_TRUE(back.regained);
  // Heard last at 250 ms, again at 3250 ms: 3 s of silence, of which 2.5 s beyond the window.
  EXPECT_EQ(back.blind_for, 2500ms);
  auto next = observeView(view, 4, t0 + 3300ms, 500ms);
  EXPECT_FALSE(next.regained);
  EXPECT_EQ(next.blind_for, Duration::zero());
}

}  // namespace
}  // namespace rampart::controller

#include "controller/scheduler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::controller {
namespace {
using json = nlohmann::json;

json node(const std::string& name, const std::string& cpu = "4", const std::string& mem = "8Gi",
          int pods = 110, json labels = json::object()) {
  return {{"metadata", {{"name", name}, {"labels", labels}}},
          {"spec", json::object()},
          {"status",
           {{"allocatable", {{"cpu", cpu}, {"memory", mem}, {"pods", std::to_string(pods)}}},
            {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

constexpr const char* kZone = "topology.kubernetes.io/zone";

json zoned(const std::string& name, const std::string& zone) {
  return node(name, "4", "8Gi", 110, {{kZone, zone}});
}

json pod(const std::string& name, const std::string& cpu = "", const std::string& mem = "",
         json labels = {{"app", "web"}}) {
  json requests = json::object();
  if (!cpu.empty()) {
    requests["cpu"] = cpu;
  }
  if (!mem.empty()) {
    requests["memory"] = mem;
  }
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"labels", labels}}},
          {"spec", {{"containers", {{{"name", "c"}, {"resources", {{"requests", requests}}}}}}}}};
}

json on(json p, const std::string& node_name) {
  p["spec"]["nodeName"] = node_name;
  p["status"]["phase"] = "Running";
  return p;
}

json antiAffinity(json p, const std::string& topology_key) {
  p["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
      {{"labelSelector", {{"matchLabels", {{"app", "web"}}}}}, {"topologyKey", topology_key}}};
  return p;
}

TEST(Scheduler, PlacesThePodOnTheLeastAllocatedNode) {
  std::vector<json> nodes = {node("a"), node("b")};
  auto d = decideSchedule(pod("p", "1", "1Gi"), nodes, {on(pod("x", "2", "2Gi"), "a")});
  EXPECT_EQ(d.node, "b");
  EXPECT_EQ(d.pod, "default/p");
  EXPECT_TRUE(d.message.empty());
  EXPECT_EQ(d.event.type, "Normal");
  EXPECT_EQ(d.event.reason, "Scheduled");
  EXPECT_EQ(d.event.message, "Successfully assigned default/p to b");
  EXPECT_EQ(d.event.object, "default/p");
}

TEST(Scheduler, FailedSchedulingMessageCountsReasonsSortedAsKubeScheduler) {
  std::vector<json> nodes;
  std::vector<json> pods;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(node("small-" + std::to_string(i), "4", "1Gi"));
    nodes.push_back(node("busy-" + std::to_string(i)));
    pods.push_back(on(pod("w" + std::to_string(i)), "busy-" + std::to_string(i)));
  }
  auto d = decideSchedule(antiAffinity(pod("p", "", "2Gi"), "kubernetes.io/hostname"), nodes, pods);
  EXPECT_EQ(d.node, "");
  EXPECT_EQ(d.message,
            "0/6 nodes are available: 3 Insufficient memory, 3 node(s) didn't match pod "
            "anti-affinity rules."
            " preemption: 0/6 nodes are available: 6 No preemption victims found for incoming"
            " pod..");
  EXPECT_EQ(d.event.type, "Warning");
  EXPECT_EQ(d.event.reason, "FailedScheduling");
  EXPECT_EQ(d.event.message, d.message);
}

TEST(Scheduler, ANodeShortOfCpuAndMemoryCountsUnderBoth) {
  auto d = decideSchedule(pod("p", "8", "16Gi"), {node("a"), node("b", "16", "32Gi", 0)}, {});
  EXPECT_EQ(d.message,
            "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods."
            " preemption: 0/2 nodes are available: 2 No preemption victims found for incoming"
            " pod..");
}

TEST(Scheduler, PodsCountAgainstAllocatablePods) {
  std::vector<json> nodes = {node("a", "4", "8Gi", 2)};
  auto batch = scheduleBatch({pod("p1"), pod("p2"), pod("p3")}, nodes, {});
  EXPECT_EQ(batch[0].node, "a");
  EXPECT_EQ(batch[1].node, "a");
  EXPECT_EQ(batch[2].message,
            "0/1 nodes are available: 1 Too many pods."
            " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming"
            " pod..");
}

TEST(Scheduler, BatchAccountsEachPlacementBeforeTheNext) {
  std::vector<json> nodes = {node("a", "1500m"), node("b", "1500m")};
  auto batch = scheduleBatch({pod("p1", "1"), pod("p2", "1"), pod("p3", "1")}, nodes, {});
  EXPECT_NE(batch[0].node, batch[1].node);
  EXPECT_EQ(batch[2].message,
            "0/2 nodes are available: 2 Insufficient cpu."
            " preemption: 0/2 nodes are available: 2 No preemption victims found for incoming"
            " pod..");
}

TEST(Scheduler, APodSeenBoundAfterThisStatePlacedItIsNotCountedTwice) {
  ClusterState state({node("a", "4", "8Gi", 2)}, {});
  json p1 = pod("p1");
  ASSERT_EQ(state.schedule(p1).node, "a");
  state.addPod(p1, "a");  // the watch shows the binding
  EXPECT_EQ(state.schedule(pod("p2")).node, "a");
  EXPECT_EQ(state.schedule(pod("p3")).message,
            "0/1 nodes are available: 1 Too many pods."
            " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming"
            " pod..");
}

TEST(Scheduler, ABoundPodKeepsItsNode) {
  ClusterState state({node("a"), node("b", "8")}, {});
  auto d = state.schedule(on(pod("p", "1"), "a"));
  EXPECT_EQ(d.node, "a");
  EXPECT_EQ(d.reason, "already bound");
  EXPECT_TRUE(d.event.reason.empty());
}

TEST(Scheduler, RemovingAPodFreesItsShare) {
  json guard = antiAffinity(on(pod("guard", "1"), "a"), "kubernetes.io/hostname");
  ClusterState state({node("a", "1")}, {guard});
  EXPECT_EQ(state.schedule(pod("p", "1")).message,
            "0/1 nodes are available: 1 Insufficient cpu."
            " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming"
            " pod..");
  state.removePod(guard);
  EXPECT_EQ(state.schedule(pod("p", "1")).node, "a");  // cpu and the anti-affinity released
  EXPECT_EQ(state.schedule(pod("q", "1")).message,
            "0/1 nodes are available: 1 Insufficient cpu."
            " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming"
            " pod..");
}

TEST(Scheduler, FinishedPodsFreeTheirRequestsAndTerminatingOnesDoNot) {
  json done = on(pod("done", "4"), "a");
  done["status"]["phase"] = "Succeeded";
  EXPECT_EQ(decideSchedule(pod("p", "1"), {node("a")}, {done}).node, "a");
  json leaving = on(pod("leaving", "4"), "a");
  leaving["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:00Z";
  EXPECT_EQ(decideSchedule(pod("p", "1"), {node("a")}, {leaving}).node, "");
}

TEST(Scheduler, InitContainersAndOverheadCountAsKubernetesDoes) {
  json p = pod("p", "1");
  p["spec"]["initContainers"] = {{{"name", "init"}, {"resources", {{"requests", {{"cpu", "3"}}}}}}};
  EXPECT_EQ(decideSchedule(p, {node("a", "2")}, {}).message,
            "0/1 nodes are available: 1 Insufficient cpu."
            " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming"
            " pod..");
  json q = pod("q", "1");
  q["spec"]["overhead"] = {{"cpu", "1500m"}};
  EXPECT_EQ(decideSchedule(q, {node("a", "2")}, {}).message,
            "0/1 nodes are available: 1 Insufficient cpu."
            " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming"
            " pod..");
  EXPECT_EQ(decideSchedule(q, {node("a", "2500m")}, {}).node, "a");
}

TEST(Scheduler, NodeSelectorMustMatchEveryLabel) {
  std::vector<json> nodes = {node("a", "4", "8Gi", 110, {{"disk", "ssd"}}),
                             node("b", "4", "8Gi", 110, {{"disk", "hdd"}})};
  json p = pod("p");
  p["spec"]["nodeSelector"] = {{"disk", "ssd"}};
  EXPECT_EQ(decideSchedule(p, nodes, {}).node, "a");
  p["spec"]["nodeSelector"]["gpu"] = "yes";
  EXPECT_EQ(decideSchedule(p, nodes, {}).message,
            "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
            " preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..");
}

TEST(Scheduler, RequiredNodeAffinityOperators) {
  std::vector<json> nodes = {node("a", "4", "8Gi", 110, {{"zone", "z1"}, {"cores", "8"}}),
                             node("b", "4", "8Gi", 110, {{"zone", "z2"}, {"cores", "64"}}),
                             node("c", "4", "8Gi", 110, {{"cores", "16"}})};
  auto with = [](json exprs) {
    json p = pod("p");
    p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
        {"nodeSelectorTerms", {{{"matchExpressions", exprs}}}}};
    return p;
  };
  auto expr = [](const std::string& key, const std::string& op, json values = json::array()) {
    json e = {{"key", key}, {"operator", op}};
    if (!values.empty()) {
      e["values"] = values;
    }
    return e;
  };
  EXPECT_EQ(decideSchedule(with({expr("zone", "In", {"z2"})}), nodes, {}).node, "b");
  EXPECT_EQ(decideSchedule(with({expr("zone", "DoesNotExist")}), nodes, {}).node, "c");
  EXPECT_EQ(
      decideSchedule(with({expr("zone", "Exists"), expr("zone", "NotIn", {"z2"})}), nodes, {}).node,
      "a");
  EXPECT_EQ(
      decideSchedule(with({expr("cores", "Gt", {"10"}), expr("cores", "Lt", {"20"})}), nodes, {})
          .node,
      "c");
  auto bad = decideSchedule(with({expr("cores", "Gt", {"ten"})}), nodes, {});
  EXPECT_EQ(bad.node, "");
  EXPECT_NE(bad.message.find("matchExpressions[0].values"), std::string::npos) << bad.message;
  // Terms are ORed; matchFields selects by node name.
  json p = pod("p");
  p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
      {"nodeSelectorTerms",
       {{{"matchExpressions", {expr("zone", "In", {"nowhere"})}}},
        {{"matchFields", {expr("metadata.name", "In", {"c"})}}}}}};
  EXPECT_EQ(decideSchedule(p, nodes, {}).node, "c");
}

TEST(Scheduler, FailedSchedulingEndsWithKubeSchedulersPreemptionTail) {
  std::vector<json> nodes;
  std::vector<json> pods;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(node("small-" + std::to_string(i), "4", "1Gi"));
    nodes.push_back(node("busy-" + std::to_string(i)));
    pods.push_back(on(pod("w" + std::to_string(i)), "busy-" + std::to_string(i)));
  }
  json p = antiAffinity(pod("p", "", "2Gi"), "kubernetes.io/hostname");
  // Resources and anti-affinity are Unschedulable: preemption looked for victims and found none.
  EXPECT_EQ(decideSchedule(p, nodes, pods).message,
            "0/6 nodes are available: 3 Insufficient memory, 3 node(s) didn't match pod "
            "anti-affinity rules. preemption: 0/6 nodes are available: 6 No preemption victims "
            "found for incoming pod..");
  // A taint is UnschedulableAndUnresolvable: evicting pods would not help there.
  json tainted = node("t");
  tainted["spec"]["taints"] = {{{"key", "dedicated"}, {"value", "db"}, {"effect", "NoSchedule"}}};
  EXPECT_EQ(decideSchedule(pod("q", "5"), {tainted, node("full")}, {}).message,
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
            "{dedicated: db}. preemption: 0/2 nodes are available: 1 No preemption victims found "
            "for incoming pod, 1 Preemption is not helpful for scheduling..");
  // A pod that may not preempt says so instead.
  p["spec"]["preemptionPolicy"] = "Never";
  EXPECT_EQ(decideSchedule(p, nodes, pods).message,
            "0/6 nodes are available: 3 Insufficient memory, 3 node(s) didn't match pod "
            "anti-affinity rules. preemption: not eligible due to preemptionPolicy=Never..");
  // No nodes at all: kube-scheduler stops before preemption.
  EXPECT_EQ(decideSchedule(pod("r"), {}, {}).message, "no nodes available to schedule pods");
}

TEST(Scheduler, UntoleratedTaintsRepelAndTheMessageNamesThem) {
  json tainted = node("a");
  tainted["spec"]["taints"] = {{{"key", "dedicated"}, {"value", "db"}, {"effect", "NoSchedule"}}};
  json master = node("b");
  master["spec"]["taints"] = {
      {{"key", "node-role.kubernetes.io/control-plane"}, {"effect", "NoSchedule"}}};
  auto d = decideSchedule(pod("p"), {tainted, master}, {});
  EXPECT_EQ(d.message,
            "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) "
            "had untolerated taint {node-role.kubernetes.io/control-plane: }."
            " preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..");
  json p = pod("p");
  p["spec"]["tolerations"] = {
      {{"key", "dedicated"}, {"operator", "Equal"}, {"value", "db"}, {"effect", "NoSchedule"}}};
  EXPECT_EQ(decideSchedule(p, {tainted, master}, {}).node, "a");
  p["spec"]["tolerations"] = {{{"operator", "Exists"}}};  // tolerates everything
  EXPECT_EQ(decideSchedule(p, {master}, {}).node, "b");
}

TEST(Scheduler, NotReadyAndUnreachableNodesCountAsTainted) {
  json down = node("a");
  down["status"]["conditions"][0]["status"] = "False";
  json lost = node("b");
  lost["status"]["conditions"][0]["status"] = "Unknown";
  json fresh = node("c");
  fresh["status"].erase("conditions");
  auto d = decideSchedule(pod("p"), {down, lost}, {});
  EXPECT_EQ(d.message,
            "0/2 nodes are available: 1 node(s) had untolerated taint "
            "{node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint "
            "{node.kubernetes.io/unreachable: }."
            " preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..");
  EXPECT_EQ(decideSchedule(pod("p"), {down, lost, fresh}, {}).node, "c");
}

TEST(Scheduler, CordonedNodesTakeOnlyPodsToleratingUnschedulable) {
  json cordoned = node("a");
  cordoned["spec"]["unschedulable"] = true;
  EXPECT_EQ(decideSchedule(pod("p"), {cordoned}, {}).message,
            "0/1 nodes are available: 1 node(s) were unschedulable."
            " preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..");
  json p = pod("p");
  p["spec"]["tolerations"] = {{{"key", "node.kubernetes.io/unschedulable"},
                               {"operator", "Exists"},
                               {"effect", "NoSchedule"}}};
  EXPECT_EQ(decideSchedule(p, {cordoned}, {}).node, "a");
}

TEST(Scheduler, ZoneAntiAffinityPlacesOnePerZone) {
  std::vector<json> nodes = {zoned("a1", "a"), zoned("a2", "a"), zoned("b1", "b")};
  json p = antiAffinity(pod("p"), "topology.kubernetes.io/zone");
  json p2 = p;
  p2["metadata"]["name"] = "p2";
  json p3 = p;
  p3["metadata"]["name"] = "p3";
  auto batch = scheduleBatch({p, p2, p3}, nodes, {});
  ASSERT_FALSE(batch[0].node.empty());
  ASSERT_FALSE(batch[1].node.empty());
  EXPECT_NE(batch[0].node.substr(0, 1), batch[1].node.substr(0, 1));
  EXPECT_EQ(batch[2].message,
            "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."
            " preemption: 0/3 nodes are available: 3 No preemption victims found for incoming"
            " pod..");
  // Pods without the label are not repelled.
  EXPECT_FALSE(
      scheduleBatch({p, p2, pod("other", "", "", {{"app", "db"}})}, nodes, {})[2].node.empty());
}

TEST(Scheduler, PlacedPodsAntiAffinityRepelsPodsItSelects) {
  json guard =
      antiAffinity(on(pod("guard", "", "", {{"role", "guard"}}), "a"), "kubernetes.io/hostname");
  auto d = decideSchedule(pod("p"), {node("a"), node("b", "1")}, {guard});
  EXPECT_EQ(d.node, "b");  // a is emptier, but the guard's rule forbids web pods there
  EXPECT_EQ(decideSchedule(pod("p"), {node("a")}, {guard}).message,
            "0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity "
            "rules."
            " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming"
            " pod..");
}

TEST(Scheduler, RequiredPodAffinityFollowsMatchingPodsButLetsTheFirstGoAnywhere) {
  json p = pod("p", "", "", {{"app", "cache"}});
  p["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
      {{"labelSelector", {{"matchLabels", {{"app", "cache"}}}}},
       {"topologyKey", "topology.kubernetes.io/zone"}}};
  std::vector<json> nodes = {zoned("a1", "a"), zoned("b1", "b")};
  EXPECT_FALSE(decideSchedule(p, nodes, {}).node.empty());
  EXPECT_EQ(decideSchedule(p, nodes, {on(pod("c", "", "", {{"app", "cache"}}), "b1")}).node, "b1");
  json q = p;
  q["metadata"]["labels"] = {{"app", "client"}};  // does not match itself: no bootstrap
  EXPECT_EQ(decideSchedule(q, nodes, {}).message,
            "0/2 nodes are available: 2 node(s) didn't match pod affinity rules."
            " preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..");
}

TEST(Scheduler, HardTopologySpreadKeepsSkewWithinMaxSkew) {
  std::vector<json> nodes = {zoned("a1", "a"), zoned("b1", "b"), node("bare")};
  json p = pod("p");
  p["spec"]["topologySpreadConstraints"] = {
      {{"maxSkew", 1},
       {"topologyKey", "topology.kubernetes.io/zone"},
       {"whenUnsatisfiable", "DoNotSchedule"},
       {"labelSelector", {{"matchLabels", {{"app", "web"}}}}}}};
  std::vector<json> placed = {on(pod("w1"), "a1")};
  auto d = decideSchedule(p, nodes, placed);
  EXPECT_EQ(d.node, "b1");
  // Only zone a has room: placing there would make the skew 2.
  nodes[1]["spec"]["unschedulable"] = true;
  EXPECT_EQ(decideSchedule(p, nodes, placed).message,
            "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 "
            "node(s) didn't match pod topology spread constraints (missing required label), 1 "
            "node(s) were unschedulable."
            " preemption: 0/3 nodes are available: 1 No preemption victims found for incoming"
            " pod, 2 Preemption is not helpful for scheduling..");
}

json terminating(json p) {
  p["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:00Z";
  return p;
}

// The pod with one DoNotSchedule (or `when`) zone constraint over app=web, `extra` merged in.
json zoneSpread(json p, json extra = json::object(), const std::string& when = "DoNotSchedule") {
  json c = {{"maxSkew", 1},
            {"topologyKey", "topology.kubernetes.io/zone"},
            {"whenUnsatisfiable", when},
            {"labelSelector", {{"matchLabels", {{"app", "web"}}}}}};
  c.update(extra);
  p["spec"]["topologySpreadConstraints"] = json::array({c});
  return p;
}

json tainted(json n, const std::string& key, const std::string& effect) {
  n["spec"]["taints"].push_back({{"key", key}, {"effect", effect}});
  return n;
}

TEST(Scheduler, TopologySpreadDoesNotCountTerminatingPods) {
  std::vector<json> nodes = {zoned("a1", "a"), zoned("b1", "b")};
  json p = zoneSpread(pod("p"));
  // Zone b's two web pods are on their way out (a rolling update): zone b counts 0, zone a 1.
  std::vector<json> placed = {on(pod("w1"), "a1"), terminating(on(pod("old1"), "b1")),
                              terminating(on(pod("old2"), "b1"))};
  EXPECT_EQ(decideSchedule(p, nodes, placed).node, "b1");
  // Counted, they would make zone b the fuller one.
  placed = {on(pod("w1"), "a1"), on(pod("old1"), "b1"), on(pod("old2"), "b1")};
  EXPECT_EQ(decideSchedule(p, nodes, placed).node, "a1");
  // A pod accounted live that then starts terminating stops counting.
  ClusterState state(nodes, {on(pod("w1"), "a1"), on(pod("w2"), "b1"), on(pod("w3"), "b1")});
  EXPECT_EQ(state.schedule(p).node, "a1");
  state.removePod(json{{"metadata", {{"name", "p"}, {"namespace", "default"}}}});
  state.addPod(terminating(on(pod("w2"), "b1")), "b1");
  state.addPod(terminating(on(pod("w3"), "b1")), "b1");
  EXPECT_EQ(state.schedule(p).node, "b1");
}

TEST(Scheduler, TerminatingPodsStillHoldTheirResources) {
  std::vector<json> nodes = {node("a", "2"), node("b", "2")};
  auto d = decideSchedule(pod("p", "1500m"), nodes, {terminating(on(pod("x", "1"), "a"))});
  EXPECT_EQ(d.node, "b");
}

TEST(Scheduler, NodeTaintsPolicyHonorLeavesATaintedNodesDomainOut) {
  std::vector<json> nodes = {zoned("a1", "a"), zoned("b1", "b"),
                             tainted(zoned("c1", "c"), "dedicated", "NoSchedule")};
  std::vector<json> placed = {on(pod("w1"), "a1"), on(pod("w2"), "b1")};
  // Ignore (the default): zone c is a domain with 0 pods, so a and b are full at skew 1.
  EXPECT_EQ(decideSchedule(zoneSpread(pod("p")), nodes, placed).message,
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: }, 2 node(s) "
            "didn't match pod topology spread constraints."
            " preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 "
            "No preemption victims found for incoming pod..");
  EXPECT_EQ(
      decideSchedule(zoneSpread(pod("p"), {{"nodeTaintsPolicy", "Ignore"}}), nodes, placed).node,
      "");
  // Honor: only zones a and b count, both at 1.
  json honor = zoneSpread(pod("p"), {{"nodeTaintsPolicy", "Honor"}});
  EXPECT_EQ(decideSchedule(honor, nodes, placed).node, "a1");
  // A taint the pod tolerates keeps the domain, and zone c is the emptiest.
  honor["spec"]["tolerations"] = {{{"key", "dedicated"}, {"operator", "Exists"}}};
  EXPECT_EQ(decideSchedule(honor, nodes, placed).node, "c1");
}

TEST(Scheduler, NodeTaintsPolicyHonorDoesNotCountThePodsOfTaintedNodes) {
  std::vector<json> nodes = {
      zoned("a1", "a"), tainted(zoned("a2", "a"), "maintenance", "NoExecute"), zoned("b1", "b")};
  std::vector<json> placed = {on(pod("w1"), "a2"), on(pod("w2"), "a2"), on(pod("w3"), "b1")};
  // Ignore: zone a counts a2's two pods, so only zone b is within skew.
  EXPECT_EQ(decideSchedule(zoneSpread(pod("p")), nodes, placed).node, "b1");
  // Honor: zone a is a1 alone, with none.
  EXPECT_EQ(
      decideSchedule(zoneSpread(pod("p"), {{"nodeTaintsPolicy", "Honor"}}), nodes, placed).node,
      "a1");
  // The score (ScheduleAnyway) counts the same way.
  EXPECT_EQ(
      decideSchedule(zoneSpread(pod("p"), json::object(), "ScheduleAnyway"), nodes, placed).node,
      "b1");
  EXPECT_EQ(decideSchedule(zoneSpread(pod("p"), {{"nodeTaintsPolicy", "Honor"}}, "ScheduleAnyway"),
                           nodes, placed)
                .node,
            "a1");
}

TEST(Scheduler, NodeAffinityPolicyIgnoreCountsNodesOutsideTheNodeSelector) {
  std::vector<json> nodes = {node("a1", "4", "8Gi", 110, {{kZone, "a"}, {"disk", "ssd"}}),
                             node("b1", "4", "8Gi", 110, {{kZone, "b"}, {"disk", "ssd"}}),
                             zoned("c1", "c")};
  std::vector<json> placed = {on(pod("w1"), "a1"), on(pod("w2"), "b1")};
  json p = pod("p");
  p["spec"]["nodeSelector"] = {{"disk", "ssd"}};
  // Honor (the default): zone c, outside the selector, is no domain.
  EXPECT_EQ(decideSchedule(zoneSpread(p), nodes, placed).node, "a1");
  EXPECT_EQ(decideSchedule(zoneSpread(p, {{"nodeAffinityPolicy", "Honor"}}), nodes, placed).node,
            "a1");
  // Ignore: zone c counts with 0 pods, and the pod cannot go there.
  EXPECT_EQ(
      decideSchedule(zoneSpread(p, {{"nodeAffinityPolicy", "Ignore"}}), nodes, placed).message,
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 "
      "node(s) didn't match pod topology spread constraints."
      " preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 "
      "No preemption victims found for incoming pod..");
  // The same with required node affinity instead of a nodeSelector.
  json q = pod("q");
  q["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
      {"nodeSelectorTerms",
       {{{"matchExpressions", {{{"key", "disk"}, {"operator", "In"}, {"values", {"ssd"}}}}}}}}};
  EXPECT_EQ(decideSchedule(zoneSpread(q), nodes, placed).node, "a1");
  EXPECT_EQ(decideSchedule(zoneSpread(q, {{"nodeAffinityPolicy", "Ignore"}}), nodes, placed).node,
            "");
}

// The demo: three zones, zone c's only worker lost (Ready Unknown, tainted unreachable by node
// lifecycle) and its web pod terminating; the replacement needs a place.
TEST(Scheduler, AZoneWhoseOnlyNodeIsLostBlocksSpreadUnlessNodeTaintsPolicyIsHonor) {
  json lost = zoned("c1", "c");
  lost["status"]["conditions"][0]["status"] = "Unknown";
  lost = tainted(tainted(lost, "node.kubernetes.io/unreachable", "NoSchedule"),
                 "node.kubernetes.io/unreachable", "NoExecute");
  std::vector<json> nodes = {zoned("a1", "a"), zoned("b1", "b"), lost};
  std::vector<json> placed = {on(pod("web-1"), "a1"), on(pod("web-2"), "b1"),
                              terminating(on(pod("web-3"), "c1"))};
  json replacement = pod("web-4");
  // Kubernetes' DefaultTolerationSeconds gives pods these; they tolerate NoExecute only.
  replacement["spec"]["tolerations"] = {{{"key", "node.kubernetes.io/unreachable"},
                                         {"operator", "Exists"},
                                         {"effect", "NoExecute"},
                                         {"tolerationSeconds", 300}}};
  auto honored =
      decideSchedule(zoneSpread(replacement, {{"nodeTaintsPolicy", "Honor"}}), nodes, placed);
  EXPECT_TRUE(honored.node == "a1" || honored.node == "b1") << honored.message;
  // Ignore, as Kubernetes would: zone c counts 0 and a, b are at maxSkew.
  EXPECT_EQ(decideSchedule(zoneSpread(replacement), nodes, placed).message,
            "0/3 nodes are available: 1 node(s) had untolerated taint "
            "{node.kubernetes.io/unreachable: }, 2 node(s) didn't match pod topology spread "
            "constraints."
            " preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 "
            "No preemption victims found for incoming pod..");
  // Only the Ready condition, before node lifecycle writes the taint: the same.
  json unwritten = zoned("c1", "c");
  unwritten["status"]["conditions"][0]["status"] = "Unknown";
  nodes[2] = unwritten;
  EXPECT_FALSE(
      decideSchedule(zoneSpread(replacement, {{"nodeTaintsPolicy", "Honor"}}), nodes, placed)
          .node.empty());
  EXPECT_TRUE(decideSchedule(zoneSpread(replacement), nodes, placed).node.empty());
}

// A drain: zone c's only node cordoned (Kubernetes taints it node.kubernetes.io/unschedulable)
// and its pod evicted, terminating.
TEST(Scheduler, ACordonedNodeIsNoDomainUnderNodeTaintsPolicyHonor) {
  json cordoned = zoned("c1", "c");
  cordoned["spec"]["unschedulable"] = true;
  std::vector<json> nodes = {zoned("a1", "a"), zoned("b1", "b"), cordoned};
  std::vector<json> placed = {on(pod("web-1"), "a1"), on(pod("web-2"), "b1"),
                              terminating(on(pod("web-3"), "c1"))};
  EXPECT_EQ(
      decideSchedule(zoneSpread(pod("web-4"), {{"nodeTaintsPolicy", "Honor"}}), nodes, placed).node,
      "a1");
  EXPECT_EQ(decideSchedule(zoneSpread(pod("web-4")), nodes, placed).message,
            "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match pod "
            "topology spread constraints."
            " preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 "
            "No preemption victims found for incoming pod..");
}

TEST(Scheduler, NodeInclusionPoliciesAcceptOnlyHonorAndIgnore) {
  auto d = decideSchedule(zoneSpread(pod("p"), {{"nodeTaintsPolicy", "Sometimes"}}),
                          {zoned("a1", "a")}, {});
  EXPECT_EQ(d.node, "");
  EXPECT_EQ(d.message,
            "invalid pod: spec.topologySpreadConstraints[0].nodeTaintsPolicy: Unsupported value: "
            "\"Sometimes\": supported values: \"Honor\", \"Ignore\"");
  d = decideSchedule(zoneSpread(pod("p"), {{"nodeAffinityPolicy", "honor"}}), {zoned("a1", "a")},
                     {});
  EXPECT_EQ(d.message,
            "invalid pod: spec.topologySpreadConstraints[0].nodeAffinityPolicy: Unsupported "
            "value: \"honor\": supported values: \"Honor\", \"Ignore\"");
}

TEST(Scheduler, MinDomainsTreatsMissingDomainsAsEmpty) {
  std::vector<json> nodes = {zoned("a1", "a"), zoned("b1", "b")};
  json p = pod("p");
  p["spec"]["topologySpreadConstraints"] = {
      {{"maxSkew", 1},
       {"minDomains", 3},
       {"topologyKey", "topology.kubernetes.io/zone"},
       {"whenUnsatisfiable", "DoNotSchedule"},
       {"labelSelector", {{"matchLabels", {{"app", "web"}}}}}}};
  std::vector<json> placed = {on(pod("w1"), "a1"), on(pod("w2"), "b1")};
  EXPECT_EQ(decideSchedule(p, nodes, placed).message,
            "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints."
            " preemption: 0/2 nodes are available: 2 No preemption victims found for incoming"
            " pod..");
  p["spec"]["topologySpreadConstraints"][0].erase("minDomains");
  EXPECT_FALSE(decideSchedule(p, nodes, placed).node.empty());
}

TEST(Scheduler, SoftTopologySpreadPrefersTheEmptierZone) {
  std::vector<json> nodes = {zoned("a1", "a"), zoned("a2", "a"), zoned("b1", "b")};
  json p = pod("p");
  p["spec"]["topologySpreadConstraints"] = {
      {{"maxSkew", 1},
       {"topologyKey", "topology.kubernetes.io/zone"},
       {"whenUnsatisfiable", "ScheduleAnyway"},
       {"labelSelector", {{"matchLabels", {{"app", "web"}}}}}}};
  // b1 carries more load, but zone b has no web pod.
  auto d = decideSchedule(p, nodes,
                          {on(pod("w1"), "a1"), on(pod("db", "2", "4Gi", {{"app", "db"}}), "b1")});
  EXPECT_EQ(d.node, "b1");
}

// kube-scheduler's scoreForCount is count × log(domains + 2) + (maxSkew − 1): a large maxSkew
// flattens the spread score's differences (normalized by the highest), and here the least
// allocated score decides. Zones a (a1, loaded by a db pod) and b (b1, one web pod), maxSkew 10:
// spread raw a 9, b round(1.386 + 9) = 10, so ×2: a1 200, b1 180; least allocated a1 72
// ((67 + 78) / 2), b1 95: b1 wins 275 to 272. (Weighting maxSkew − 1 by log(domains + 2) too
// would give a1 200 + 72, b1 170 + 95.)
TEST(Scheduler, SoftSpreadScoresEachDomainAsCountTimesWeightPlusMaxSkewMinusOne) {
  std::vector<json> nodes = {zoned("a1", "a"), zoned("b1", "b")};
  std::vector<json> placed = {on(pod("db", "1200m", "1536Mi", {{"app", "db"}}), "a1"),
                              on(pod("w1"), "b1")};
  EXPECT_EQ(
      decideSchedule(zoneSpread(pod("p"), {{"maxSkew", 10}}, "ScheduleAnyway"), nodes, placed).node,
      "b1");
  // With maxSkew 1 the spread difference is 100 points: the empty zone wins.
  EXPECT_EQ(
      decideSchedule(zoneSpread(pod("p"), json::object(), "ScheduleAnyway"), nodes, placed).node,
      "a1");
  // The domains of log(domains + 2) are those of the feasible nodes: six more zones whose nodes
  // take no pods leave the weight at log 4 (at log 8, b's raw score would be 11 and a1 win).
  for (const char* zone : {"c", "d", "e", "f", "g", "h"}) {
    nodes.push_back(node(std::string(zone) + "1", "4", "8Gi", 0, {{kZone, zone}}));
  }
  EXPECT_EQ(
      decideSchedule(zoneSpread(pod("p"), {{"maxSkew", 10}}, "ScheduleAnyway"), nodes, placed).node,
      "b1");
}

TEST(Scheduler, SystemDefaultSpreadSeparatesSiblingsOfOneController) {
  json p = pod("p");
  p["metadata"]["ownerReferences"] = {
      {{"kind", "ReplicaSet"}, {"name", "web-1"}, {"uid", "u1"}, {"controller", true}}};
  // "big" stays the less allocated node, but it already runs a sibling.
  std::vector<json> nodes = {node("big", "64", "256Gi"), node("small", "4", "8Gi")};
  EXPECT_EQ(decideSchedule(p, nodes, {on(pod("w1"), "big")}).node, "small");
  // Without an owner only the resources decide.
  json orphan = pod("p");
  EXPECT_EQ(decideSchedule(orphan, nodes, {on(pod("w1"), "big")}).node, "big");
}

TEST(Scheduler, PreferNoScheduleTaintsAreAvoidedWhenPossible) {
  json soft = node("a", "64", "256Gi");
  soft["spec"]["taints"] = {{{"key", "spot"}, {"effect", "PreferNoSchedule"}}};
  EXPECT_EQ(decideSchedule(pod("p"), {soft, node("b")}, {}).node, "b");
  EXPECT_EQ(decideSchedule(pod("p"), {soft}, {}).node, "a");
}

TEST(Scheduler, PreferredNodeAffinityWeighsIn) {
  std::vector<json> nodes = {node("a", "64", "256Gi"),
                             node("b", "4", "8Gi", 110, {{"disk", "ssd"}})};
  json p = pod("p");
  p["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] =
      json::parse(R"([{"weight": 50, "preference": {"matchExpressions": [
        {"key": "disk", "operator": "In", "values": ["ssd"]}]}}])");
  EXPECT_EQ(decideSchedule(p, nodes, {}).node, "b");
}

TEST(Scheduler, PreferredAntiAffinityAvoidsNodesWithMatchingPods) {
  std::vector<json> nodes = {node("a", "64", "256Gi"), node("b")};
  json p = pod("p");
  p["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] =
      json::parse(R"([{"weight": 100, "podAffinityTerm": {
        "labelSelector": {"matchLabels": {"app": "web"}},
        "topologyKey": "kubernetes.io/hostname"}}])");
  EXPECT_EQ(decideSchedule(p, nodes, {on(pod("w"), "a")}).node, "b");
}

TEST(Scheduler, InvalidRequestsAreReportedWithTheField) {
  auto d = decideSchedule(pod("p", "lots"), {node("a")}, {});
  EXPECT_EQ(d.node, "");
  EXPECT_NE(d.message.find("spec.containers[0].resources.requests.cpu"), std::string::npos)
      << d.message;
}

TEST(Scheduler, NoNodesAtAll) {
  EXPECT_EQ(decideSchedule(pod("p"), {}, {}).message, "no nodes available to schedule pods");
}

}  // namespace
}  // namespace rampart::controller

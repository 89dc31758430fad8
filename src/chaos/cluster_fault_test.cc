#include "chaos/cluster_fault.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rampart::chaos {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

TimePoint at(int64_t ms) { return TimePoint{} + std::chrono::seconds(100) + milliseconds(ms); }

// Masters m1..m3 in zones a, b, c; workers w1 (a), w2 (b); etcd PIDs 101..103.
cluster::ClusterState lab(int masters = 3, int workers = 2) {
  cluster::ClusterSpec spec;
  spec.name = "t";
  spec.masters = masters;
  spec.workers = workers;
  cluster::ClusterState state;
  state.name = "t";
  state.zones = spec.zones;
  for (const auto& n : cluster::planNodes(spec)) {
    cluster::NodeState node;
    node.spec = n;
    if (n.role == cluster::Role::Master) {
      node.pids["etcd"] = 100 + n.ordinal;
    }
    state.nodes.push_back(node);
  }
  return state;
}

FaultKind kind(const std::string& name) { return *parseFault(name); }

FaultPlan plan(const std::string& fault, const std::string& target = "",
               const std::string& holder = "t-m2", std::map<std::string, int> pods = {}) {
  auto p = planFault(lab(), kind(fault), target, PlanFacts{holder, std::move(pods)});
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : FaultPlan{};
}

TEST(ClusterFaultNames, EveryNameParsesBackToItselfAndUnknownNamesAreRefused) {
  for (const auto& name : faultNames()) {
    auto k = parseFault(name);
    ASSERT_TRUE(k) << name;
    EXPECT_EQ(faultName(*k), name);
  }
  auto bad = parseFault("kill-everything");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
}

TEST(ClusterFaultPlan, AMasterFaultHitsTheActingControllersMasterAndTheClientRunsInAWorker) {
  auto p = plan("kill-master");
  EXPECT_THAT(p.nodes, ElementsAre("t-m2"));
  EXPECT_EQ(p.probe_node, "t-w1");
  EXPECT_TRUE(p.hits_controller);
  EXPECT_TRUE(p.api_stays_available) << "2 of 3 members remain";
  EXPECT_TRUE(p.heal_by_up);
  EXPECT_THAT(p.survivors, ElementsAre("t-m1", "t-m3", "t-w1", "t-w2"));
}

TEST(ClusterFaultPlan, ANamedMasterThatDoesNotLeadDoesNotHitTheController) {
  auto p = plan("freeze-master", "t-m1");
  EXPECT_THAT(p.nodes, ElementsAre("t-m1"));
  EXPECT_FALSE(p.hits_controller);
  EXPECT_FALSE(p.heal_by_up) << "a frozen node is resumed, not restarted";
}

TEST(ClusterFaultPlan, APartitionCutsTheHubEndOfEachNodesVeth) {
  auto p = plan("partition-zone", "b");
  EXPECT_THAT(p.nodes, ElementsAre("t-m2", "t-w2"));
  EXPECT_EQ(p.hub_netns, "t-lab");
  EXPECT_THAT(p.hub_links, ElementsAre("v2", "v5"));
  EXPECT_EQ(p.probe_node, "t-w1");
}

TEST(ClusterFaultPlan, AWorkerFaultPicksTheWorkerWithTheMostPodsAndAZoneFaultItsZone) {
  std::map<std::string, int> pods{{"t-w1", 1}, {"t-w2", 3}};
  EXPECT_THAT(plan("kill-worker", "", "t-m1", pods).nodes, ElementsAre("t-w2"));
  EXPECT_EQ(plan("kill-worker", "", "t-m1", pods).probe_node, "t-w1");
  auto zone = plan("kill-zone", "", "t-m1", pods);
  EXPECT_EQ(zone.target, "b");
  EXPECT_THAT(zone.nodes, ElementsAre("t-m2", "t-w2"));
  EXPECT_TRUE(zone.api_stays_available);
}

TEST(ClusterFaultPlan, TargetsOfTheWrongKindAreRefused) {
  EXPECT_EQ(planFault(lab(), kind("kill-master"), "t-w1", {}).error().code,
            ErrorCode::InvalidArgument);
  EXPECT_EQ(planFault(lab(), kind("kill-worker"), "t-m1", {}).error().code,
            ErrorCode::InvalidArgument);
  EXPECT_EQ(planFault(lab(), kind("kill-master"), "t-m9", {}).error().code,
            ErrorCode::InvalidArgument);
  EXPECT_EQ(planFault(lab(), kind("kill-zone"), "z", {}).error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(planFault(lab(3, 0), kind("kill-worker"), "", {}).error().code,
            ErrorCode::FailedPrecondition);
}

TEST(ClusterFaultPlan, LosingTwoOfThreeMastersLosesQuorumAndSparesTheNamedMaster) {
  auto p = plan("two-masters", "t-m1");
  EXPECT_THAT(p.nodes, ElementsAre("t-m2", "t-m3"));
  EXPECT_FALSE(p.api_stays_available);
  EXPECT_EQ(p.probe_node, "t-w1");
  EXPECT_THAT(plan("two-masters").nodes, ElementsAre("t-m1", "t-m2"));
  EXPECT_EQ(planFault(lab(1, 1), kind("two-masters"), "", {}).error().code,
            ErrorCode::FailedPrecondition);
}

TEST(ClusterFaultPlan, AnEtcdMemberFaultNamesTheRecordedPidAndKeepsTheNodeASurvivor) {
  auto p = plan("etcd-member", "t-m3");
  EXPECT_EQ(p.etcd_pid, 103);
  EXPECT_THAT(p.nodes, ElementsAre("t-m3"));
  EXPECT_FALSE(p.hits_controller) << "only etcd dies; the controller on t-m3 keeps running";
  EXPECT_TRUE(p.api_stays_available);
  EXPECT_EQ(p.survivors.size(), 5u);
}

TEST(ClusterFaultPlan, AFaultOnEveryNodeLeavesNowhereForTheClient) {
  auto p = planFault(lab(1, 0), kind("kill-master"), "", {});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::FailedPrecondition);
}

// Observations around a fault at 0 ms healed at 5000 ms, healthy at 6000 ms, end 8000 ms.
struct FaultRun {
  ClusterObservations obs;

  explicit FaultRun(const std::string& fault, const std::string& target = "t-m2") {
    obs.plan = plan(fault, target);
    obs.fault_at = at(0);
    obs.heal_at = at(5000);
    obs.healthy_at = at(6000);
    obs.end = at(8000);
    obs.holder_before = "t-m2";
  }
  // Requests every 100 ms over [from, to), failing in [fail_from, fail_to).
  FaultRun& probe(int64_t from, int64_t to, int64_t fail_from = 0, int64_t fail_to = 0) {
    for (int64_t t = from; t < to; t += 100) {
      cluster::ProbeSample s;
      s.start = at(t);
      s.ok = !(t >= fail_from && t < fail_to);
      s.error = s.ok ? "" : "connection refused";
      obs.probe.push_back(s);
    }
    return *this;
  }
  FaultRun& holder(int64_t t, const std::string& h) {
    obs.holders.push_back({at(t), h});
    return *this;
  }
  ClusterVerdict judge() const { return chaos::judge(obs, ClusterLimits{}); }
};

const Check& check(const ClusterVerdict& v, const std::string& name) {
  for (const auto& c : v.checks) {
    if (c.name == name) {
      return c;
    }
  }
  static Check none{"missing", false, false};
  ADD_FAILURE() << "no check " << name;
  return none;
}

TEST(ClusterFaultJudge, AKilledMasterPassesWithNoFailedRequestAndAFastHandover) {
  FaultRun r("kill-master");
  r.probe(-1000, 8000).holder(200, "t-m2").holder(900, "t-m1");
  auto v = r.judge();
  EXPECT_TRUE(v.passed()) << verdictTable(r.obs, v);
  EXPECT_EQ(v.figures.failed, 0u);
  EXPECT_EQ(v.figures.longest_gap, milliseconds(100));
  ASSERT_TRUE(v.figures.handover);
  EXPECT_EQ(*v.figures.handover, milliseconds(900));
  EXPECT_EQ(v.figures.new_holder, "t-m1");
  EXPECT_FALSE(check(v, "pod-replacement").applicable) << "masters run no ReplicaSet pod";
  EXPECT_FALSE(check(v, "static-stability").applicable);
}

TEST(ClusterFaultJudge, OneFailedRequestFailsAKill) {
  FaultRun r("kill-master");
  r.probe(-1000, 8000, 300, 400).holder(900, "t-m1");
  auto v = r.judge();
  EXPECT_FALSE(check(v, "api").passed);
  EXPECT_EQ(v.figures.failed, 1u);
  EXPECT_EQ(v.figures.first_error, "connection refused");
  EXPECT_FALSE(v.passed());
}

TEST(ClusterFaultJudge, AFreezeMayStallUpToTheLimitButNotLonger) {
  FaultRun ok("freeze-master");
  ok.probe(-1000, 8000, 200, 2700).holder(1000, "t-m3");  // successes at 100 and 2700: 2.6 s
  auto v = ok.judge();
  EXPECT_TRUE(check(v, "api").passed) << check(v, "api").measured;
  EXPECT_EQ(v.figures.longest_gap, milliseconds(2600));

  FaultRun slow("freeze-master");
  slow.probe(-1000, 8000, 200, 3300).holder(1000, "t-m3");
  EXPECT_FALSE(check(slow.judge(), "api").passed);
}

TEST(ClusterFaultJudge, AFailureAfterTheHealFailsEvenWhenTheGapIsShort) {
  FaultRun r("partition-master");
  r.probe(-1000, 8000, 5500, 5600).holder(1000, "t-m3");
  auto v = r.judge();
  EXPECT_TRUE(check(v, "api").passed);
  EXPECT_EQ(v.figures.failed_after_heal, 1u);
  EXPECT_FALSE(check(v, "api-after-heal").passed);
}

TEST(ClusterFaultJudge, ALeaseThatNeverMovesFailsTheHandover) {
  FaultRun r("kill-master");
  r.probe(-1000, 8000).holder(500, "").holder(1000, "t-m2").holder(4000, "t-m2");
  auto v = r.judge();
  EXPECT_FALSE(check(v, "controller-handover").passed);
  EXPECT_FALSE(v.figures.handover);
}

TEST(ClusterFaultJudge, LosingQuorumMustMakeTheApiFailAndKeepEveryPodProcess) {
  FaultRun r("two-masters", "t-m3");
  // Down from the fault until the heal; failing on while `up` restarts; fine once healthy.
  r.probe(-1000, 8000, 0, 5900);
  r.obs.pod_pids_before = {11, 12};
  r.obs.pod_pids_during = {11, 12};
  auto v = r.judge();
  EXPECT_TRUE(v.passed()) << verdictTable(r.obs, v);
  for (const auto& c : v.checks) {
    EXPECT_NE(c.name, "api") << "with quorum lost the API is expected down, not judged up";
  }
  EXPECT_TRUE(check(v, "api-unavailable").passed);
  EXPECT_FALSE(check(v, "controller-handover").applicable) << "no API, no handover";

  r.obs.pod_pids_during = {12};
  v = r.judge();
  EXPECT_FALSE(check(v, "static-stability").passed);
  EXPECT_EQ(v.figures.pod_processes_lost, 1u);

  FaultRun still("two-masters", "t-m3");
  still.probe(-1000, 8000);  // an API that kept answering without quorum is a bug
  EXPECT_FALSE(check(still.judge(), "api-unavailable").passed);
}

PodView pod(const std::string& name, const std::string& node, bool ready = true,
            const std::string& owner = "ReplicaSet/web-1") {
  return PodView{"default", name, node, owner, ready};
}

TEST(ClusterFaultJudge, PodsAreReplacedWhenNewCopiesAreReadyOnNodesNotFaulted) {
  std::vector<PodView> before{pod("web-a", "t-w1"), pod("web-b", "t-w2"), pod("web-c", "t-w2"),
                              pod("db-0", "t-w2", true, "StatefulSet/db")};
  std::vector<std::string> faulted{"t-w2"};
  EXPECT_EQ(lostPods(before, faulted).size(), 2u) << "only ReplicaSet pods count";
  // The old pods still listed (Ready: the controller has not noticed yet): not replaced.
  EXPECT_FALSE(replaced(before, before, faulted));
  // One new copy Ready, one not yet.
  EXPECT_FALSE(replaced(
      before, {pod("web-a", "t-w1"), pod("web-d", "t-w1"), pod("web-e", "t-w1", false)}, faulted));
  // A new copy placed on the faulted node does not count.
  EXPECT_FALSE(replaced(before, {pod("web-a", "t-w1"), pod("web-d", "t-w1"), pod("web-e", "t-w2")},
                        faulted));
  EXPECT_TRUE(replaced(before, {pod("web-a", "t-w1"), pod("web-d", "t-w1"), pod("web-e", "t-w1")},
                       faulted));
}

TEST(ClusterFaultJudge, ReplacementTimeIsFromTheFaultToTheFirstSampleWithEveryCopyReady) {
  FaultRun r("kill-worker", "t-w2");
  r.probe(-1000, 8000);
  r.obs.pods_before = {pod("web-a", "t-w1"), pod("web-b", "t-w2")};
  r.obs.pod_samples = {{at(1000), {pod("web-a", "t-w1"), pod("web-b", "t-w2")}},
                       {at(2500), {pod("web-a", "t-w1"), pod("web-c", "t-w1", false)}},
                       {at(3200), {pod("web-a", "t-w1"), pod("web-c", "t-w1")}}};
  auto v = r.judge();
  ASSERT_TRUE(v.figures.replacement);
  EXPECT_EQ(*v.figures.replacement, milliseconds(3200));
  EXPECT_EQ(v.figures.pods_lost, 1u);
  EXPECT_TRUE(check(v, "pod-replacement").passed);
  EXPECT_FALSE(check(v, "controller-handover").applicable);
  EXPECT_TRUE(v.passed()) << verdictTable(r.obs, v);

  r.obs.pod_samples.pop_back();
  EXPECT_FALSE(check(r.judge(), "pod-replacement").passed);
}

TEST(ClusterFaultJudge, ASurvivorsPodGoingNotReadyEvenOnceIsCollateralDamage) {
  FaultRun r("freeze-master", "t-m2");
  r.probe(-1000, 8000).holder(900, "t-m1");
  r.obs.pods_before = {pod("web-a", "t-w1"), pod("web-b", "t-w2"), pod("web-c", "t-w2", false)};
  r.obs.pod_samples = {{at(-500), {pod("web-b", "t-w2", false)}},  // before the fault: ignored
                       {at(1000), r.obs.pods_before},
                       {at(2000), {pod("web-a", "t-w1"), pod("web-b", "t-w2")}}};
  auto v = r.judge();
  EXPECT_EQ(v.figures.survivor_pods, 2u) << "web-c was not Ready before";
  EXPECT_TRUE(check(v, "survivor-pods").passed) << check(v, "survivor-pods").measured;

  r.obs.pod_samples.push_back({at(3000), {pod("web-a", "t-w1", false), pod("web-b", "t-w2")}});
  r.obs.pod_samples.push_back({at(4000), {pod("web-a", "t-w1")}});
  v = r.judge();
  EXPECT_THAT(v.figures.survivor_pods_disturbed, ElementsAre("default/web-a", "default/web-b"));
  EXPECT_FALSE(check(v, "survivor-pods").passed);
  EXPECT_FALSE(v.passed());
}

TEST(ClusterFaultJudge, AClusterNeverHealthyAgainFails) {
  FaultRun r("freeze-master");
  r.probe(-1000, 8000).holder(1000, "t-m1");
  r.obs.healthy_at.reset();
  auto v = r.judge();
  EXPECT_FALSE(check(v, "healthy-after").passed);
  EXPECT_FALSE(v.passed());
}

TEST(NeverTwice, TwoCopiesOneAfterTheOtherPassWithTheirGap) {
  auto r = checkNeverTwice("a 100\na 200\na 300\nb 1300\nb 1400\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->copies, 2u);
  EXPECT_FALSE(r->overlap);
  ASSERT_TRUE(r->gap);
  EXPECT_EQ(*r->gap, std::chrono::nanoseconds(1000));
}

TEST(NeverTwice, OverlappingCopiesAreCaughtWhateverTheirOrderInTheFile) {
  auto r = checkNeverTwice("a 100\nb 250\na 300\nb 400\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->overlap) << r->detail;
  // A long first copy spanning two later ones.
  r = checkNeverTwice("a 100\nb 200\nb 210\nc 300\na 900\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->overlap);
}

TEST(NeverTwice, ATornLastLineIsIgnoredButCorruptionElsewhereIsAnError) {
  auto torn = checkNeverTwice("a 100\na 200\nb 9");
  ASSERT_TRUE(torn);
  EXPECT_EQ(torn->copies, 2u);
  torn = checkNeverTwice("a 100\na 2");
  ASSERT_TRUE(torn);
  EXPECT_EQ(torn->copies, 1u);
  auto bad = checkNeverTwice("a 100\ngarbage\na 300\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
}

TEST(ClusterFaultReport, JsonCarriesTheFiguresAndEveryCheck) {
  FaultRun r("kill-master");
  r.probe(-1000, 8000).holder(900, "t-m1");
  auto v = r.judge();
  auto j = nlohmann::json::parse(verdictJson(r.obs, v));
  EXPECT_EQ(j["fault"], "kill-master");
  EXPECT_EQ(j["probe_node"], "t-w1");
  EXPECT_EQ(j["figures"]["failed"], 0);
  EXPECT_EQ(j["figures"]["handover_ms"], 900);
  EXPECT_TRUE(j["figures"]["replacement_ms"].is_null());
  EXPECT_EQ(j["passed"], true);
  EXPECT_EQ(j["checks"].size(), v.checks.size());
  EXPECT_NE(verdictTable(r.obs, v).find("controller-handover"), std::string::npos);
}

}  // namespace
}  // namespace rampart::chaos

#include "controller/pdb_status.h"

#include <gtest/gtest.h>

namespace rampart::controller {
namespace {
using json = nlohmann::json;

const api::WallTime kNow = *api::parseRfc3339("2026-12-06T03:00:00Z");

json pod(const std::string& name, bool ready, const std::string& owner = "rs1") {
  json p = {{"metadata", {{"name", name}, {"namespace", "default"}}},
            {"status",
             {{"phase", "Running"},
              {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
  if (!owner.empty()) {
    p["metadata"]["ownerReferences"] = {{{"uid", owner}, {"controller", true}}};
  }
  return p;
}

json pdb(json spec) { return {{"metadata", {{"generation", 3}}}, {"spec", spec}}; }

ControllerScales scaled(std::map<std::string, std::pair<std::string, int64_t>> by_ref) {
  ControllerScales scales;
  for (const auto& [ref, scale] : by_ref) {
    scales.emplace(ref, std::optional<ControllerScale>(ControllerScale{scale.first, scale.second}));
  }
  return scales;
}

TEST(PdbStatus, MinAvailableCountCountsMatchedPods) {
  json s = decidePdbStatus(pdb({{"minAvailable", 2}}),
                           {pod("a", true), pod("b", true), pod("c", false)}, {}, kNow)
               .status;
  EXPECT_EQ(s["expectedPods"], 3);
  EXPECT_EQ(s["currentHealthy"], 2);
  EXPECT_EQ(s["desiredHealthy"], 2);
  EXPECT_EQ(s["disruptionsAllowed"], 0);
  EXPECT_EQ(s["observedGeneration"], 3);
  EXPECT_EQ(s["conditions"][0]["type"], "DisruptionAllowed");
  EXPECT_EQ(s["conditions"][0]["status"], "False");
  EXPECT_EQ(s["conditions"][0]["reason"], "InsufficientPods");
}

TEST(PdbStatus, MaxUnavailableUsesTheControllersScale) {
  json s = decidePdbStatus(pdb({{"maxUnavailable", 1}}), {pod("a", true), pod("b", true)},
                           scaled({{"rs1", {"rs1", 3}}}), kNow)
               .status;
  EXPECT_EQ(s["expectedPods"], 3);
  EXPECT_EQ(s["desiredHealthy"], 2);
  EXPECT_EQ(s["disruptionsAllowed"], 0);
  s = decidePdbStatus(pdb({{"maxUnavailable", 1}}), {pod("a", true), pod("b", true)},
                      scaled({{"rs1", {"rs1", 2}}}), kNow)
          .status;
  EXPECT_EQ(s["disruptionsAllowed"], 1);
  EXPECT_EQ(s["conditions"][0]["reason"], "SufficientPods");
}

TEST(PdbStatus, MaxUnavailablePercentRoundsUpOnTheScale) {
  // 30% of 4 = 1.2 → 2 may be unavailable: desiredHealthy 2, three healthy → one disruption.
  json s = decidePdbStatus(pdb({{"maxUnavailable", "30%"}}),
                           {pod("a", true), pod("b", true), pod("c", true)},
                           scaled({{"rs1", {"d1", 4}}}), kNow)
               .status;
  EXPECT_EQ(s["expectedPods"], 4);
  EXPECT_EQ(s["desiredHealthy"], 2);
  EXPECT_EQ(s["disruptionsAllowed"], 1);
}

TEST(PdbStatus, MinAvailablePercentRoundsUpOnTheScale) {
  // 50% of 5 = 2.5 → 3 must stay: three healthy → no disruption.
  json s = decidePdbStatus(pdb({{"minAvailable", "50%"}}),
                           {pod("a", true), pod("b", true), pod("c", true)},
                           scaled({{"rs1", {"rs1", 5}}}), kNow)
               .status;
  EXPECT_EQ(s["expectedPods"], 5);
  EXPECT_EQ(s["desiredHealthy"], 3);
  EXPECT_EQ(s["disruptionsAllowed"], 0);
}

TEST(PdbStatus, ReplicaSetsOfOneDeploymentCountItsScaleOnce) {
  json s = decidePdbStatus(pdb({{"minAvailable", "50%"}}),
                           {pod("a", true, "rs-old"), pod("b", true, "rs-new")},
                           scaled({{"rs-old", {"d1", 4}}, {"rs-new", {"d1", 4}}}), kNow)
               .status;
  EXPECT_EQ(s["expectedPods"], 4);
  EXPECT_EQ(s["desiredHealthy"], 2);
}

TEST(PdbStatus, AnUnmanagedPodIsLeftOutOfTheScaleWithAWarning) {
  json budget = pdb({{"maxUnavailable", 1}});
  budget["spec"]["selector"] = {{"matchLabels", {{"app", "web"}}}};
  auto d = decidePdbStatus(budget, {pod("a", true), pod("loose", true, "")},
                           scaled({{"rs1", {"rs1", 2}}}), kNow);
  EXPECT_EQ(d.status["expectedPods"], 2);    // rs1's scale; the loose pod adds nothing
  EXPECT_EQ(d.status["currentHealthy"], 2);  // but it is healthy and counted as such
  EXPECT_EQ(d.status["desiredHealthy"], 1);
  EXPECT_EQ(d.status["disruptionsAllowed"], 1);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].reason, "UnmanagedPods");
  EXPECT_NE(
      d.events[0].message.find("(selector: &LabelSelector{MatchLabels:map[string]string{app: web,},"
                               "MatchExpressions:[]LabelSelectorRequirement{},})"),
      std::string::npos)
      << d.events[0].message;
}

TEST(PdbStatus, AnUnmanagedPodUnderAnIntegerMinAvailableCountsAsOne) {
  auto d = decidePdbStatus(pdb({{"minAvailable", 1}}), {pod("a", true), pod("loose", true, "")}, {},
                           kNow);
  EXPECT_EQ(d.status["expectedPods"], 2);
  EXPECT_EQ(d.status["disruptionsAllowed"], 1);
  EXPECT_TRUE(d.events.empty());
}

TEST(PdbStatus, AControllerThatIsGoneFailsSafe) {
  json budget = pdb({{"maxUnavailable", "50%"}});
  budget["status"] = {{"disruptionsAllowed", 1}, {"currentHealthy", 1}, {"observedGeneration", 2}};
  auto d = decidePdbStatus(budget, {pod("a", true)}, {}, kNow);
  EXPECT_EQ(d.status["disruptionsAllowed"], 0);
  EXPECT_EQ(d.status["currentHealthy"], 1);  // failSafe leaves the rest as it was
  EXPECT_EQ(d.status["conditions"][0]["status"], "False");
  EXPECT_EQ(d.status["conditions"][0]["reason"], "SyncFailed");
  EXPECT_EQ(d.status["conditions"][0]["message"], "found no controllers for pod \"a\"");
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].reason, "CalculateExpectedPodCountFailed");
  EXPECT_EQ(d.events[0].message,
            "Failed to calculate the number of expected pods: found no controllers for pod \"a\"");
}

TEST(PdbStatus, AControllerWithoutAScaleSubresourceFailsSafe) {
  ControllerScales scales;
  scales.emplace("rs1", fail(ErrorCode::FailedPrecondition,
                             "daemonsets.apps does not implement the scale subresource"));
  auto d = decidePdbStatus(pdb({{"minAvailable", "50%"}}), {pod("a", true), pod("b", true)}, scales,
                           kNow);
  EXPECT_EQ(d.status["disruptionsAllowed"], 0);
  EXPECT_EQ(d.status["conditions"][0]["reason"], "SyncFailed");
  EXPECT_EQ(d.status["conditions"][0]["message"],
            "daemonsets.apps does not implement the scale subresource");
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].reason, "CalculateExpectedPodCountFailed");
}

TEST(PdbStatus, RecentEvictionsCountAsGoneUntilTheyExpire) {
  json budget = pdb({{"minAvailable", 1}});
  budget["status"]["disruptedPods"] = {{"a", "2026-12-06T02:59:30Z"},
                                       {"b", "2026-12-06T02:50:00Z"}};
  json s = decidePdbStatus(budget, {pod("a", true), pod("b", true)}, {}, kNow).status;
  EXPECT_EQ(s["currentHealthy"], 1);  // a is on its way out; b's entry expired
  EXPECT_EQ(s["disruptedPods"], json({{"a", "2026-12-06T02:59:30Z"}}));
  EXPECT_EQ(s["disruptionsAllowed"], 0);
}

TEST(PdbStatus, TheConditionKeepsItsTransitionTimeWhileUnchanged) {
  json budget = pdb({{"minAvailable", 1}});
  budget["status"]["conditions"] = {{{"type", "DisruptionAllowed"},
                                     {"status", "True"},
                                     {"reason", "SufficientPods"},
                                     {"lastTransitionTime", "2026-12-06T01:00:00Z"}}};
  json s = decidePdbStatus(budget, {pod("a", true), pod("b", true)}, {}, kNow).status;
  EXPECT_EQ(s["conditions"][0]["lastTransitionTime"], "2026-12-06T01:00:00Z");
}

}  // namespace
}  // namespace rampart::controller

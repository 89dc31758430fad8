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

TEST(PdbStatus, MinAvailableCountCountsMatchedPods) {
  json s = decidePdbStatus(pdb({{"minAvailable", 2}}),
                           {pod("a", true), pod("b", true), pod("c", false)}, {}, kNow);
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
                           {{"rs1", 3}}, kNow);
  EXPECT_EQ(s["expectedPods"], 3);
  EXPECT_EQ(s["desiredHealthy"], 2);
  EXPECT_EQ(s["disruptionsAllowed"], 0);
  s = decidePdbStatus(pdb({{"maxUnavailable", 1}}), {pod("a", true), pod("b", true)}, {{"rs1", 2}},
                      kNow);
  EXPECT_EQ(s["disruptionsAllowed"], 1);
  EXPECT_EQ(s["conditions"][0]["reason"], "SufficientPods");
}

TEST(PdbStatus, PodsWithoutAControllerFailSafe) {
  json s = decidePdbStatus(pdb({{"maxUnavailable", "50%"}}), {pod("a", true, "")}, {}, kNow);
  EXPECT_EQ(s["disruptionsAllowed"], 0);
  EXPECT_EQ(s["conditions"][0]["reason"], "SyncFailed");
  EXPECT_EQ(s["conditions"][0]["message"], "found no controllers for pod \"a\"");
}

TEST(PdbStatus, RecentEvictionsCountAsGoneUntilTheyExpire) {
  json budget = pdb({{"minAvailable", 1}});
  budget["status"]["disruptedPods"] = {{"a", "2026-12-06T02:59:30Z"},
                                       {"b", "2026-12-06T02:50:00Z"}};
  json s = decidePdbStatus(budget, {pod("a", true), pod("b", true)}, {}, kNow);
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
  json s = decidePdbStatus(budget, {pod("a", true), pod("b", true)}, {}, kNow);
  EXPECT_EQ(s["conditions"][0]["lastTransitionTime"], "2026-12-06T01:00:00Z");
}

}  // namespace
}  // namespace rampart::controller

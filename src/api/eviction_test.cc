#include "api/eviction.h"

#include <future>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "api/handler.h"
#include "base/fake_clock.h"
#include "store/memory_store.h"
#include "testing/run_loop.h"
#include "testing/yielding_store.h"

namespace rampart::api {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;

const WallTime kNow = *parseRfc3339("2026-12-06T03:00:00Z");

json runningPod(const std::string& name, bool ready = true) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", "web"}}}}},
          {"status",
           {{"phase", "Running"},
            {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
}

json budget(const std::string& name, int allowed, int generation = 1, int observed = 1) {
  return {{"metadata",
           {{"name", name},
            {"namespace", "default"},
            {"generation", generation},
            {"resourceVersion", "7"}}},
          {"spec", {{"selector", {{"matchLabels", {{"app", "web"}}}}}, {"minAvailable", 2}}},
          {"status",
           {{"observedGeneration", observed},
            {"disruptionsAllowed", allowed},
            {"currentHealthy", 2 + allowed},
            {"desiredHealthy", 2},
            {"expectedPods", 2 + allowed}}}};
}

TEST(PlanEviction, NoBudgetMeansDelete) {
  auto plan = planEviction(runningPod("a"), {}, kNow);
  EXPECT_EQ(plan.action, EvictionPlan::Action::kDelete);
  EXPECT_EQ(plan.pin, EvictionPlan::Pin::kNone);
}

TEST(PlanEviction, BudgetWithoutDisruptionsRefusesAHealthyPodWith429) {
  auto plan = planEviction(runningPod("a"), {budget("web", 0)}, kNow);
  ASSERT_EQ(plan.action, EvictionPlan::Action::kRefuse);
  EXPECT_EQ(plan.code, 429);
  EXPECT_EQ(plan.refusal["reason"], "TooManyRequests");
  EXPECT_EQ(plan.refusal["message"],
            "Cannot evict pod as it would violate the pod's disruption budget.");
  EXPECT_EQ(plan.refusal["details"]["causes"][0]["reason"], "DisruptionBudget");
  EXPECT_EQ(plan.refusal["details"]["causes"][0]["message"],
            "The disruption budget web needs 2 healthy pods and has 2 currently");
}

TEST(PlanEviction, BudgetObservedAtAnOlderGenerationRefusesWithRetryAfter) {
  auto plan = planEviction(runningPod("a"), {budget("web", 3, 2, 1)}, kNow);
  ASSERT_EQ(plan.action, EvictionPlan::Action::kRefuse);
  EXPECT_EQ(plan.code, 429);
  EXPECT_EQ(plan.retry_after_seconds, 10);
  EXPECT_EQ(plan.refusal["details"]["causes"][0]["message"],
            "The disruption budget web is still being processed by the server.");
}

TEST(PlanEviction, NegativeDisruptionsAllowedIsForbidden) {
  auto plan = planEviction(runningPod("a"), {budget("web", -1)}, kNow);
  ASSERT_EQ(plan.action, EvictionPlan::Action::kRefuse);
  EXPECT_EQ(plan.code, 403);
}

TEST(PlanEviction, AllowedDisruptionIsTakenAndThePodRecorded) {
  auto plan = planEviction(runningPod("a"), {budget("web", 1)}, kNow);
  ASSERT_EQ(plan.action, EvictionPlan::Action::kTakeDisruption);
  EXPECT_EQ(plan.pdb["status"]["disruptionsAllowed"], 0);
  EXPECT_EQ(plan.pdb["status"]["disruptedPods"]["a"], "2026-12-06T03:00:00Z");
  EXPECT_EQ(plan.pdb["status"]["conditions"][0]["type"], "DisruptionAllowed");
  EXPECT_EQ(plan.pdb["status"]["conditions"][0]["status"], "False");
  EXPECT_EQ(plan.pdb["metadata"]["resourceVersion"], "7");  // the CAS is on the version read
  auto two = planEviction(runningPod("b"), {budget("web", 2)}, kNow);
  EXPECT_EQ(two.pdb["status"]["disruptionsAllowed"], 1);
  EXPECT_FALSE(two.pdb["status"].contains("conditions"));
}

TEST(PlanEviction, MoreThanOneBudgetIs500) {
  auto plan = planEviction(runningPod("a"), {budget("one", 1), budget("two", 1)}, kNow);
  ASSERT_EQ(plan.action, EvictionPlan::Action::kRefuse);
  EXPECT_EQ(plan.code, 500);
}

TEST(PlanEviction, BudgetWithEmptyOrOtherSelectorDoesNotCover) {
  json empty = budget("empty", 0);
  empty["spec"]["selector"] = json::object();
  json other = budget("other", 0);
  other["spec"]["selector"]["matchLabels"]["app"] = "db";
  json elsewhere = budget("elsewhere", 0);
  elsewhere["metadata"]["namespace"] = "prod";
  auto plan = planEviction(runningPod("a"), {empty, other, elsewhere}, kNow);
  EXPECT_EQ(plan.action, EvictionPlan::Action::kDelete);
}

TEST(PlanEviction, PendingFinishedAndTerminatingPodsIgnoreTheBudget) {
  json pending = runningPod("a");
  pending["status"]["phase"] = "Pending";
  auto plan = planEviction(pending, {budget("web", 0)}, kNow);
  EXPECT_EQ(plan.action, EvictionPlan::Action::kDelete);
  EXPECT_EQ(plan.pin, EvictionPlan::Pin::kRetryOnConflict);
  json done = runningPod("a");
  done["status"]["phase"] = "Succeeded";
  EXPECT_EQ(planEviction(done, {budget("web", 0)}, kNow).action, EvictionPlan::Action::kDelete);
  json going = runningPod("a");
  going["metadata"]["deletionTimestamp"] = "2026-12-06T03:00:30Z";
  plan = planEviction(going, {budget("web", 0)}, kNow);
  EXPECT_EQ(plan.action, EvictionPlan::Action::kDelete);
  EXPECT_EQ(plan.pin, EvictionPlan::Pin::kNone);
}

TEST(PlanEviction, UnreadyPodGoesFreeOnlyWhileTheBudgetIsMet) {
  json met = budget("web", 0);  // currentHealthy 2 >= desiredHealthy 2
  auto plan = planEviction(runningPod("a", false), {met}, kNow);
  EXPECT_EQ(plan.action, EvictionPlan::Action::kDelete);
  EXPECT_EQ(plan.pin, EvictionPlan::Pin::kBusyOnConflict);
  json broken = met;
  broken["status"]["currentHealthy"] = 1;
  EXPECT_EQ(planEviction(runningPod("a", false), {broken}, kNow).code, 429);
  broken["spec"]["unhealthyPodEvictionPolicy"] = "AlwaysAllow";
  EXPECT_EQ(planEviction(runningPod("a", false), {broken}, kNow).action,
            EvictionPlan::Action::kDelete);
}

// The subresource over the handler and a MemoryStore.
class EvictionRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(call("POST", "/api/v1/namespaces", R"({"metadata":{"name":"default"}})").status, 201);
  }

  ApiResponse call(const char* method, const std::string& target, const std::string& body = "") {
    auto info = parseRequestInfo(method, target);
    EXPECT_TRUE(info) << target;
    ApiRequest req{*info, "application/json", "application/json", body};
    return testing::runLoop(io_, handler_.handle(std::move(req)));
  }

  // A running, ready pod bound to node n1, labelled app=web.
  void makePod(const std::string& name) {
    json pod = {{"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
                {"spec",
                 {{"nodeName", "n1"}, {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
    auto created = call("POST", "/api/v1/namespaces/default/pods", pod.dump());
    ASSERT_EQ(created.status, 201) << created.body.dump();
    json status = created.body;
    status["status"] = runningPod(name)["status"];
    auto updated = call("PUT", "/api/v1/namespaces/default/pods/" + name + "/status",
                        status.dump());
    ASSERT_EQ(updated.status, 200) << updated.body.dump();
  }

  // A budget over app=web whose status says `allowed` disruptions (the test plays the
  // disruption controller).
  void makeBudget(int allowed) {
    json pdb = {{"apiVersion", "policy/v1"},
                {"kind", "PodDisruptionBudget"},
                {"metadata", {{"name", "web"}}},
                {"spec", {{"minAvailable", 1}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
    auto created =
        call("POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets", pdb.dump());
    ASSERT_EQ(created.status, 201) << created.body.dump();
    setAllowed(allowed);
  }

  void setAllowed(int allowed) {
    json pdb = call("GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web").body;
    pdb["status"] = {{"observedGeneration", pdb["metadata"]["generation"]},
                     {"disruptionsAllowed", allowed},
                     {"currentHealthy", 1 + allowed},
                     {"desiredHealthy", 1},
                     {"expectedPods", 1 + allowed}};
    auto r = call("PUT", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web/status",
                  pdb.dump());
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }

  ApiResponse evict(const std::string& name, json delete_options = nullptr) {
    json eviction = {{"apiVersion", "policy/v1"},
                     {"kind", "Eviction"},
                     {"metadata", {{"name", name}, {"namespace", "default"}}}};
    if (!delete_options.is_null()) {
      eviction["deleteOptions"] = delete_options;
    }
    return call("POST", "/api/v1/namespaces/default/pods/" + name + "/eviction", eviction.dump());
  }

  asio::io_context io_;
  FakeClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  ObjectStore objects_{store_, "/registry"};
  ApiHandler handler_{objects_, [] { return kNow; }};
};

TEST_F(EvictionRequestTest, PodWithoutBudgetIsDeletedWithTheEvictionsDeleteOptions) {
  makePod("a");
  auto r = evict("a", {{"gracePeriodSeconds", 0}});
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_EQ(r.body["status"], "Success");
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/a").status, 404);
}

TEST_F(EvictionRequestTest, PodWithoutGraceOptionsIsDeletedGracefully) {
  makePod("a");
  ASSERT_EQ(evict("a").status, 201);
  auto pod = call("GET", "/api/v1/namespaces/default/pods/a");
  ASSERT_EQ(pod.status, 200);
  EXPECT_TRUE(pod.body["metadata"].contains("deletionTimestamp"));
}

TEST_F(EvictionRequestTest, BudgetAtZeroBlocksUntilItAllowsOneThenTakesIt) {
  makePod("a");
  makePod("b");
  makeBudget(0);
  auto refused = evict("a", {{"gracePeriodSeconds", 0}});
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.body["reason"], "TooManyRequests");
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/a").status, 200);

  setAllowed(1);
  auto ok = evict("a", {{"gracePeriodSeconds", 0}});
  ASSERT_EQ(ok.status, 201) << ok.body.dump();
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/a").status, 404);
  auto pdb = call("GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web").body;
  EXPECT_EQ(pdb["status"]["disruptionsAllowed"], 0);
  EXPECT_TRUE(pdb["status"]["disruptedPods"].contains("a"));
  // The budget is spent: the next healthy pod waits.
  EXPECT_EQ(evict("b", {{"gracePeriodSeconds", 0}}).status, 429);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/b").status, 200);
}

TEST_F(EvictionRequestTest, ConcurrentEvictionsNeverTakeMoreDisruptionsThanAllowed) {
  for (const char* name : {"a", "b", "c", "d"}) {
    makePod(name);
  }
  makeBudget(2);
  // Four evictions interleaved on one loop (each yields at every store call): they read the
  // same budget, but the CAS on its resourceVersion lets only two writes of allowed-1 through.
  testing::YieldingStore yielding(store_);
  ObjectStore racy_objects(yielding, "/registry");
  ApiHandler racy(racy_objects, [] { return kNow; });
  std::vector<std::future<ApiResponse>> answers;
  for (const char* name : {"a", "b", "c", "d"}) {
    json eviction = {{"apiVersion", "policy/v1"},
                     {"kind", "Eviction"},
                     {"metadata", {{"name", name}}},
                     {"deleteOptions", {{"gracePeriodSeconds", 0}}}};
    auto info = parseRequestInfo(
        "POST", std::string("/api/v1/namespaces/default/pods/") + name + "/eviction");
    ASSERT_TRUE(info);
    ApiRequest req{*info, "application/json", "application/json", eviction.dump()};
    answers.push_back(asio::co_spawn(io_, racy.handle(std::move(req)), asio::use_future));
  }
  io_.restart();
  io_.run();
  int evicted = 0;
  int refused = 0;
  for (auto& answer : answers) {
    int status = answer.get().status;
    evicted += status == 201;
    refused += status == 429;
  }
  EXPECT_EQ(evicted, 2);
  EXPECT_EQ(refused, 2);
  EXPECT_GT(yielding.lost(), 0);  // the evictions did race for the budget
  auto pdb = call("GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web").body;
  EXPECT_EQ(pdb["status"]["disruptionsAllowed"], 0);
  EXPECT_EQ(pdb["status"]["disruptedPods"].size(), 2u);
  auto pods = call("GET", "/api/v1/namespaces/default/pods").body;
  EXPECT_EQ(pods["items"].size(), 2u);
}

TEST_F(EvictionRequestTest, DryRunTakesNothingAndDeletesNothing) {
  makePod("a");
  makeBudget(1);
  auto r = evict("a", {{"dryRun", {"All"}}, {"gracePeriodSeconds", 0}});
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods/a").status, 200);
  auto pdb = call("GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web").body;
  EXPECT_EQ(pdb["status"]["disruptionsAllowed"], 1);
}

TEST_F(EvictionRequestTest, MismatchedNameIsBadRequestAndMissingPodIsNotFound) {
  makePod("a");
  json eviction = {{"apiVersion", "policy/v1"}, {"kind", "Eviction"}, {"metadata", {{"name", "b"}}}};
  auto r = call("POST", "/api/v1/namespaces/default/pods/a/eviction", eviction.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["message"], "name in URL does not match name in Eviction object");
  EXPECT_EQ(evict("nope").status, 404);
}

TEST_F(EvictionRequestTest, PolicyV1beta1EvictionIsAccepted) {
  makePod("a");
  json eviction = {{"apiVersion", "policy/v1beta1"},
                   {"kind", "Eviction"},
                   {"metadata", {{"name", "a"}}},
                   {"deleteOptions", {{"gracePeriodSeconds", 0}}}};
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/pods/a/eviction", eviction.dump()).status,
            201);
}

}  // namespace
}  // namespace rampart::api

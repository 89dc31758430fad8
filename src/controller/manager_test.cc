// The manager and its reconcilers over LocalClient and MemoryStore (real time, short
// durations): the ReplicaSet controller's pods, adoption, scale up and down, PDB status, and
// leader election between two managers (one acts; a deposed leader stops before the next acts).

#include "controller/manager.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "controller/reconcilers.h"
#include "kube/local_client.h"
#include "store/memory_store.h"
#include "testing/loop_until.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;

json replicaSet(const std::string& name, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}}}}}};
}

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* ns : {"default", "kube-system"}) {
      ASSERT_EQ(call("POST", "/api/v1/namespaces", json{{"metadata", {{"name", ns}}}}).status, 201);
    }
  }
  void TearDown() override {
    for (auto& m : managers_) {
      testing::runLoop(io_, m->shutdown());
    }
    testing::loopUntil(io_, [] { return false; }, milliseconds(20));
  }

  kube::Reply call(const std::string& method, const std::string& target,
                   const json& body = nullptr, const std::string& type = "application/json") {
    auto reply =
        testing::runLoop(io_, client_.call(method, target, body.is_null() ? "" : body.dump(), type));
    EXPECT_TRUE(reply);
    return reply ? *reply : kube::Reply{};
  }

  json pods(const std::string& app) {
    return call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3D" + app).body["items"];
  }

  ManagerOptions options(bool elect, const std::string& identity = "") {
    ManagerOptions o;
    o.leader_elect = elect;
    o.leader.identity = identity;
    o.leader.lease_duration = milliseconds(300);
    o.leader.renew_deadline = milliseconds(200);
    o.leader.retry_period = milliseconds(50);
    o.poll = milliseconds(5);
    o.informer.poll = milliseconds(10);
    return o;
  }

  Manager& start(ManagerOptions o, kube::Client* client = nullptr,
                 const ReconcilerOptions& reconciler_options = {}) {
    managers_.push_back(std::make_unique<Manager>(
        client ? *client : client_, clock_, [] { return std::chrono::system_clock::now(); },
        std::move(o)));
    Manager& m = *managers_.back();
    std::vector<std::string> names;
    for (const auto& known : knownControllers()) {
      if (known.enabled_by_default) {
        names.push_back(known.name);
      }
    }
    auto added = addControllers(m, names, reconciler_options);
    EXPECT_TRUE(added);
    boost::asio::co_spawn(io_, m.run(), boost::asio::detached);
    return m;
  }

  boost::asio::io_context io_;
  SteadyClock clock_;
  store::MemoryStore store_{io_.get_executor(), clock_};
  kube::LocalClient client_{store_, clock_, [] { return std::chrono::system_clock::now(); }};
  // A second candidate's own client (another process in production).
  kube::LocalClient other_{store_, clock_, [] { return std::chrono::system_clock::now(); }};
  std::vector<std::unique_ptr<Manager>> managers_;
};

TEST_F(ManagerTest, AReplicaSetGetsPodsFromItsTemplateOwnedByIt) {
  start(options(false));
  auto created = call("POST", "/apis/apps/v1/namespaces/default/replicasets", replicaSet("web", 3));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  std::string uid = created.body["metadata"]["uid"];
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return pods("web").size() == 3; }));
  for (const auto& pod : pods("web")) {
    EXPECT_EQ(pod["metadata"]["name"].get<std::string>().rfind("web-", 0), 0u);
    const json& ref = pod["metadata"]["ownerReferences"][0];
    EXPECT_EQ(ref["kind"], "ReplicaSet");
    EXPECT_EQ(ref["uid"], uid);
    EXPECT_EQ(ref["controller"], true);
    EXPECT_EQ(ref["blockOwnerDeletion"], true);
    EXPECT_EQ(pod["spec"]["containers"][0]["image"], "nginx");
  }
  ASSERT_TRUE(testing::loopUntil(io_, [&] {
    return call("GET", "/apis/apps/v1/namespaces/default/replicasets/web")
               .body.value("/status/replicas"_json_pointer, 0) == 3;
  }));
  auto rs = call("GET", "/apis/apps/v1/namespaces/default/replicasets/web").body;
  EXPECT_EQ(rs["status"]["observedGeneration"], rs["metadata"]["generation"]);
  ASSERT_TRUE(testing::loopUntil(io_, [&] {
    auto events = call("GET", "/api/v1/namespaces/default/events").body["items"];
    for (const auto& e : events) {
      if (e["reason"] == "SuccessfulCreate" && e["involvedObject"]["name"] == "web") {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(ManagerTest, ScalingUpNeverCreatesMorePodsThanReplicas) {
  Manager& m = start(options(false));
  // Count every pod ever created, from an informer of our own.
  kube::Informer watcher(client_, kube::resources::kPods, {.ns = "default", .poll = milliseconds(10)});
  int added = 0;
  watcher.addHandler([&](kube::Informer::Change c, const json*, const json*) {
    added += c == kube::Informer::Change::Added;
  });
  boost::asio::co_spawn(io_, watcher.run(), boost::asio::detached);
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return m.acting() && watcher.synced(); }));
  call("POST", "/apis/apps/v1/namespaces/default/replicasets", replicaSet("web", 5));
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return added == 5; }));
  call("PATCH", "/apis/apps/v1/namespaces/default/replicasets/web",
       json{{"spec", {{"replicas", 60}}}}, "application/merge-patch+json");
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return added >= 60; }));
  testing::loopUntil(io_, [] { return false; }, milliseconds(300));  // settle: nothing more
  EXPECT_EQ(added, 60);
  EXPECT_EQ(pods("web").size(), 60u);
  watcher.stop();
  testing::loopUntil(io_, [&] { return !watcher.running(); });
}

TEST_F(ManagerTest, ScalingDownDeletesTheExcess) {
  start(options(false));
  call("POST", "/apis/apps/v1/namespaces/default/replicasets", replicaSet("web", 4));
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return pods("web").size() == 4; }));
  call("PATCH", "/apis/apps/v1/namespaces/default/replicasets/web",
       json{{"spec", {{"replicas", 1}}}}, "application/merge-patch+json");
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return pods("web").size() == 1; }));
}

TEST_F(ManagerTest, AnOrphanMatchingTheSelectorIsAdoptedInsteadOfCreatingAnother) {
  json orphan = {{"apiVersion", "v1"},
                 {"kind", "Pod"},
                 {"metadata", {{"name", "stray"}, {"labels", {{"app", "web"}}}}},
                 {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}};
  ASSERT_EQ(call("POST", "/api/v1/namespaces/default/pods", orphan).status, 201);
  start(options(false));
  call("POST", "/apis/apps/v1/namespaces/default/replicasets", replicaSet("web", 2));
  ASSERT_TRUE(testing::loopUntil(io_, [&] {
    auto stray = call("GET", "/api/v1/namespaces/default/pods/stray").body;
    return stray.contains("/metadata/ownerReferences"_json_pointer) && pods("web").size() == 2;
  }));
  testing::loopUntil(io_, [] { return false; }, milliseconds(200));
  EXPECT_EQ(pods("web").size(), 2u);
}

TEST_F(ManagerTest, ABudgetsStatusFollowsItsPodsHealth) {
  start(options(false));
  call("POST", "/apis/apps/v1/namespaces/default/replicasets", replicaSet("web", 3));
  json pdb = {{"apiVersion", "policy/v1"},
              {"kind", "PodDisruptionBudget"},
              {"metadata", {{"name", "web"}}},
              {"spec", {{"minAvailable", 2}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
  ASSERT_EQ(call("POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets", pdb).status,
            201);
  auto status = [&] {
    return call("GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web")
        .body.value("status", json::object());
  };
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return status().value("expectedPods", 0) == 3; }));
  EXPECT_EQ(status()["currentHealthy"], 0);
  EXPECT_EQ(status()["desiredHealthy"], 2);
  EXPECT_EQ(status()["disruptionsAllowed"], 0);
  for (const auto& pod : pods("web")) {
    json ready = {{"status",
                   {{"phase", "Running"},
                    {"conditions",
                     {{{"type", "Ready"},
                       {"status", "True"},
                       {"lastTransitionTime", "2026-12-06T05:00:00Z"}}}}}}};
    auto r = call("PATCH",
                  "/api/v1/namespaces/default/pods/" + pod["metadata"]["name"].get<std::string>() +
                      "/status",
                  ready, "application/merge-patch+json");
    ASSERT_TRUE(r.ok()) << r.body.dump();
  }
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return status().value("currentHealthy", 0) == 3; }));
  EXPECT_EQ(status()["disruptionsAllowed"], 1);
  EXPECT_EQ(status()["conditions"][0]["reason"], "SufficientPods");
}

TEST_F(ManagerTest, OneOfTwoCandidatesActsAndADeposedLeaderStopsBeforeTheNextActs) {
  std::map<std::string, TimePoint> started;
  std::map<std::string, TimePoint> stopped;
  Manager& a = start(options(true, "a"));
  a.onActing([&](bool on) { (on ? started : stopped)["a"] = std::chrono::steady_clock::now(); });
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return a.acting(); }));
  Manager& b = start(options(true, "b"), &other_);
  b.onActing([&](bool on) { (on ? started : stopped)["b"] = std::chrono::steady_clock::now(); });
  call("POST", "/apis/apps/v1/namespaces/default/replicasets", replicaSet("web", 3));
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return pods("web").size() == 3; }));
  EXPECT_FALSE(b.acting()) << "the candidate waits while the lease is renewed";
  auto lease = call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
                           "rampart-controller").body;
  EXPECT_EQ(lease["spec"]["holderIdentity"], "a");
  EXPECT_EQ(lease["metadata"]["annotations"]["rampart.io/lease-duration-ms"], "300");

  // The leader stops renewing (as if hung): it must stop acting by its own deadline, before b.
  a.elector()->stop();
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return b.acting(); }, milliseconds(3000)));
  ASSERT_TRUE(stopped.count("a"));
  EXPECT_LT(stopped["a"], started["b"]);
  EXPECT_GE(started["b"] - stopped["a"], milliseconds(90)) << "at least the margin D - (D - M)";
  auto refused = testing::runLoop(
      io_, a.context().client.call("POST", "/api/v1/namespaces/default/configmaps",
                                   R"({"metadata":{"name":"x"}})", "application/json"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::FailedPrecondition);
  lease = call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
                      "rampart-controller").body;
  EXPECT_EQ(lease["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
  // The new leader reconciles: a scale-up is served by b.
  call("PATCH", "/apis/apps/v1/namespaces/default/replicasets/web",
       json{{"spec", {{"replicas", 5}}}}, "application/merge-patch+json");
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return pods("web").size() == 5; }));
  a.onActing(nullptr);  // the maps above go before TearDown's shutdowns
  b.onActing(nullptr);
}

TEST_F(ManagerTest, AShutdownReleasesTheLeaseSoTheNextLeaderNeedNotWaitItOut) {
  ManagerOptions slow = options(true, "a");
  slow.leader.lease_duration = std::chrono::seconds(5);
  slow.leader.renew_deadline = std::chrono::seconds(4);
  Manager& a = start(slow);
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return a.acting(); }));
  ManagerOptions slow_b = slow;
  slow_b.leader.identity = "b";
  Manager& b = start(slow_b, &other_);
  testing::loopUntil(io_, [] { return false; }, milliseconds(100));
  auto before = std::chrono::steady_clock::now();
  testing::runLoop(io_, a.shutdown());
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return b.acting(); }, milliseconds(3000)));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2))
      << "well under the 5 s lease duration";
}

json node(const std::string& name, const std::string& zone) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"labels",
             {{"kubernetes.io/hostname", name}, {"topology.kubernetes.io/zone", zone}}}}},
          {"status",
           {{"allocatable", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}}},
            {"capacity", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}}},
            {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

TEST_F(ManagerTest, TheSchedulerBindsPendingPodsAndExplainsThoseThatFitNowhere) {
  ASSERT_EQ(call("POST", "/api/v1/nodes", node("node-a", "z1")).status, 201);
  start(options(false));
  call("POST", "/apis/apps/v1/namespaces/default/replicasets", replicaSet("web", 3));
  ASSERT_TRUE(testing::loopUntil(io_, [&] {
    json items = pods("web");
    if (items.size() != 3) {
      return false;
    }
    for (const auto& pod : items) {
      if (pod.value("/spec/nodeName"_json_pointer, std::string()) != "node-a") {
        return false;
      }
    }
    return true;
  }));
  json picky = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", "picky"}, {"labels", {{"app", "picky"}}}}},
                {"spec",
                 {{"nodeSelector", {{"disk", "ssd"}}},
                  {"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}};
  ASSERT_EQ(call("POST", "/api/v1/namespaces/default/pods", picky).status, 201);
  std::string message;
  ASSERT_TRUE(testing::loopUntil(io_, [&] {
    json pod = call("GET", "/api/v1/namespaces/default/pods/picky").body;
    for (const auto& c : pod.value("/status/conditions"_json_pointer, json::array())) {
      if (c["type"] == "PodScheduled" && c["status"] == "False") {
        message = c.value("message", "");
        return true;
      }
    }
    return false;
  }));
  EXPECT_NE(message.find("0/1 nodes are available"), std::string::npos) << message;
  ASSERT_TRUE(testing::loopUntil(io_, [&] {
    json events = call("GET", "/api/v1/namespaces/default/events").body["items"];
    for (const auto& e : events) {
      if (e["reason"] == "Scheduled" && e["involvedObject"]["kind"] == "Pod") {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(ManagerTest, ADeploymentGetsAReplicaSetNamedByItsTemplateHashAndItsPods) {
  start(options(false));
  json deployment = replicaSet("app", 2);
  deployment["kind"] = "Deployment";
  ASSERT_EQ(call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment).status, 201);
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return pods("app").size() == 2; }));
  json sets = call("GET", "/apis/apps/v1/namespaces/default/replicasets").body["items"];
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0]["metadata"]["name"].get<std::string>().rfind("app-", 0), 0u);
  EXPECT_EQ(sets[0]["metadata"]["ownerReferences"][0]["kind"], "Deployment");
  EXPECT_EQ(sets[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
  ASSERT_TRUE(testing::loopUntil(io_, [&] {
    json d = call("GET", "/apis/apps/v1/namespaces/default/deployments/app").body;
    return d.value("/status/replicas"_json_pointer, 0) == 2;
  }));
}

TEST_F(ManagerTest, DeletingAReplicaSetCollectsItsPodsAndOrphanKeepsThem) {
  start(options(false));
  call("POST", "/apis/apps/v1/namespaces/default/replicasets", replicaSet("web", 2));
  call("POST", "/apis/apps/v1/namespaces/default/replicasets", replicaSet("keep", 2));
  ASSERT_TRUE(testing::loopUntil(
      io_, [&] { return pods("web").size() == 2 && pods("keep").size() == 2; }));
  ASSERT_TRUE(call("DELETE", "/apis/apps/v1/namespaces/default/replicasets/web").ok());
  ASSERT_TRUE(testing::loopUntil(io_, [&] { return pods("web").empty(); }));
  ASSERT_TRUE(
      call("DELETE", "/apis/apps/v1/namespaces/default/replicasets/keep?propagationPolicy=Orphan")
          .ok());
  ASSERT_TRUE(testing::loopUntil(io_, [&] {
    return call("GET", "/apis/apps/v1/namespaces/default/replicasets/keep").status == 404;
  }));
  json kept = pods("keep");
  ASSERT_EQ(kept.size(), 2u);
  for (const auto& pod : kept) {
    EXPECT_FALSE(pod["metadata"].contains("ownerReferences") &&
                 !pod["metadata"]["ownerReferences"].empty());
  }
}

}  // namespace
}  // namespace rampart::controller

namespace rampart::controller {
namespace {

// A MicroTime (microseconds, as the agent writes renewTime): every renewal differs.
std::string microTime() {
  auto now = std::chrono::system_clock::now();
  std::string text = api::formatRfc3339(now);  // "...T19:15:07Z"
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch())
                    .count() % 1000000;
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros));
  return text.substr(0, text.size() - 1) + frac + "Z";
}

bool hasTaint(const json& node, const std::string& key, const std::string& effect) {
  for (const auto& t : node.value("/spec/taints"_json_pointer, json::array())) {
    if (t.value("key", "") == key && t.value("effect", "") == effect) {
      return true;
    }
  }
  return false;
}

std::string readyOf(const json& node) {
  for (const auto& c : node.value("/status/conditions"_json_pointer, json::array())) {
    if (c.value("type", "") == "Ready") {
      return c.value("status", "");
    }
  }
  return "";
}

// Two nodes; the test renews node-b's Lease and not node-a's. Past the grace node-a is Ready
// Unknown with the unreachable taints, and (fenced, no toleration time) its pod is evicted;
// node-b stays Ready and untainted throughout.
TEST_F(ManagerTest, ANodeWhoseLeaseStopsIsMarkedUnreachableAndItsPodsEvictedOnceFenced) {
  ASSERT_EQ(call("POST", "/api/v1/namespaces", json{{"metadata", {{"name", "kube-node-lease"}}}})
                .status,
            201);
  for (const char* name : {"node-a", "node-b"}) {
    ASSERT_EQ(call("POST", "/api/v1/nodes", node(name, "z1")).status, 201);
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", name}}},
                  {"spec",
                   {{"holderIdentity", name},
                    {"leaseDurationSeconds", 1},
                    {"renewTime", microTime()}}}};
    ASSERT_EQ(
        call("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease).status,
        201);
  }
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "on-a"}}},
              {"spec",
               {{"nodeName", "node-a"}, {"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}};
  ASSERT_EQ(call("POST", "/api/v1/namespaces/default/pods", pod).status, 201);
  ReconcilerOptions ro;
  ro.node_lifecycle.grace = milliseconds(400);
  ro.node_lifecycle.fence_after = milliseconds(600);
  ro.taint_manager.unreachable_toleration_seconds = 0;
  ro.taint_manager.not_ready_toleration_seconds = 0;
  start(options(false), nullptr, ro);
  const std::string lease_b = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-b";
  auto renewB = [&] {
    json patch = {{"spec", {{"renewTime", microTime()}}}};
    call("PATCH", lease_b, patch, "application/merge-patch+json");
  };
  bool b_stayed_ready = true;
  ASSERT_TRUE(testing::loopUntil(
      io_,
      [&] {
        renewB();
        json b = call("GET", "/api/v1/nodes/node-b").body;
        b_stayed_ready = b_stayed_ready && readyOf(b) == "True" &&
                         !hasTaint(b, "node.kubernetes.io/unreachable", "NoExecute");
        json a = call("GET", "/api/v1/nodes/node-a").body;
        return readyOf(a) == "Unknown" &&
               hasTaint(a, "node.kubernetes.io/unreachable", "NoExecute") &&
               hasTaint(a, "node.kubernetes.io/unreachable", "NoSchedule");
      },
      milliseconds(10000)));
  ASSERT_TRUE(testing::loopUntil(
      io_,
      [&] {
        renewB();
        json b = call("GET", "/api/v1/nodes/node-b").body;
        b_stayed_ready = b_stayed_ready && readyOf(b) == "True";
        auto got = call("GET", "/api/v1/namespaces/default/pods/on-a");
        return got.status == 404 || got.body.contains("/metadata/deletionTimestamp"_json_pointer);
      },
      milliseconds(10000)));
  EXPECT_TRUE(b_stayed_ready);
  json events = call("GET", "/api/v1/namespaces/default/events").body["items"];
  bool eviction_event = false;
  for (const auto& e : events) {
    eviction_event = eviction_event || e.value("reason", "") == "TaintManagerEviction";
  }
  EXPECT_TRUE(eviction_event) << events.dump();
}

}  // namespace
}  // namespace rampart::controller

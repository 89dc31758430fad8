// Acceptance of the controllers with the real kubectl (issue 13, "What real kubectl must do"): a
// real 3-member etcd, two `rampart server`s, two leader-elected `rampart controller`s (one per
// server) and `rampart agent --simulate 3 --zones a,b,c` as the nodes. Each test drives a user's
// kubectl workflow (rollouts, scaling, cascading deletes, Services, drains against a budget,
// cordons, events, node loss) and checks what kubectl itself reports.

#include <signal.h>

#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller_fixture.h"

namespace rampart {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::eventually;

class KubectlControllersTest : public testing::ControllerTest {
 protected:
  // Short enough that a lost node shows within the test's bound, long enough that a loaded
  // 2-core machine's renewals (every 200ms) never miss it.
  static constexpr const char* kGrace = "4s";

  void SetUp() override {
    ControllerTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    startAgent();
    if (HasFatalFailure()) {
      return;
    }
    startController("ctrl-a", 0, {"--node-monitor-grace-period", kGrace});
    startController("ctrl-b", 1, {"--node-monitor-grace-period", kGrace});
    ASSERT_TRUE(eventually([&] { return !leaseHolder().empty(); }, seconds(20)))
        << readWholeFile(controllers_["ctrl-a"].log);
  }

  void TearDown() override {
    if (HasFailure() && !agent_log_.empty()) {
      std::ofstream("/tmp/rampart-kubectl-controllers-agent.log") << readWholeFile(agent_log_);
    }
    ControllerTest::TearDown();
  }

  static std::string readWholeFile(const std::string& path) { return testing::readWholeFile(path); }

  void startAgent() { startSimulatedAgent(3, "a,b,c"); }

  // kubectl with a longer deadline for commands that wait (rollout status, drain, delete).
  testing::Kubectl kubectlWait(std::vector<std::string> args, Duration timeout = seconds(90)) {
    return kubectl(servers_.front().kubeconfig, std::move(args), "", timeout);
  }

  json getJson(std::vector<std::string> args) {
    args.push_back("-o");
    args.push_back("json");
    auto out = kubectl(args);
    EXPECT_EQ(out.exit_code, 0) << out.output;
    json parsed = json::parse(out.output, nullptr, false);
    return parsed.is_discarded() ? json() : parsed;
  }

  // Pods of the selector that are not being deleted.
  std::vector<json> livePods(const std::string& selector) {
    std::vector<json> live;
    json pods = getJson({"get", "pods", "-l", selector});
    for (const auto& pod : pods.value("items", json::array())) {
      if (!pod["metadata"].contains("deletionTimestamp")) {
        live.push_back(pod);
      }
    }
    return live;
  }

  size_t runningPods(const std::string& selector) {
    size_t running = 0;
    for (const auto& pod : livePods(selector)) {
      running += pod["status"].value("phase", "") == "Running" ? 1 : 0;
    }
    return running;
  }

  size_t allPods(const std::string& selector) {
    return getJson({"get", "pods", "-l", selector}).value("items", json::array()).size();
  }

  std::string zoneOf(const std::string& node) {
    json n = getJson({"get", "node", node});
    return n["metadata"]["labels"].value("topology.kubernetes.io/zone", "");
  }

  // `kubectl create deployment NAME --image=nginx --replicas=N` and its rollout finished.
  void createDeployment(const std::string& name, int replicas) {
    auto created = kubectl(
        {"create", "deployment", name, "--image=nginx", "--replicas=" + std::to_string(replicas)});
    ASSERT_EQ(created.exit_code, 0) << created.output;
    auto status = kubectlWait({"rollout", "status", "deployment/" + name, "--timeout=60s"});
    ASSERT_EQ(status.exit_code, 0) << status.output;
  }

  std::string controllerLogs() {
    return readWholeFile(controllers_["ctrl-a"].log) + "\n---\n" +
           readWholeFile(controllers_["ctrl-b"].log);
  }

};

TEST_F(KubectlControllersTest, CreatedDeploymentRollsOutToRunningPodsSpreadOverZones) {
  auto created = kubectl({"create", "deployment", "web", "--image=nginx", "--replicas=3"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  auto status = kubectlWait({"rollout", "status", "deployment/web", "--timeout=60s"});
  ASSERT_EQ(status.exit_code, 0) << status.output << controllerLogs();
  EXPECT_NE(status.output.find("successfully rolled out"), std::string::npos) << status.output;

  ASSERT_TRUE(eventually([&] { return runningPods("app=web") == 3; }, seconds(30)));
  std::set<std::string> zones;
  for (const auto& pod : livePods("app=web")) {
    std::string node = pod["spec"].value("nodeName", "");
    ASSERT_FALSE(node.empty()) << pod.dump();
    zones.insert(zoneOf(node));
  }
  // Three nodes in three zones, three replicas: the default topology spread puts one per zone.
  EXPECT_EQ(zones, (std::set<std::string>{"a", "b", "c"}));
  auto wide = kubectl({"get", "pods", "-o", "wide"});
  ASSERT_EQ(wide.exit_code, 0) << wide.output;
  for (const char* node : {"sim-0", "sim-1", "sim-2"}) {
    EXPECT_NE(wide.output.find(node), std::string::npos) << wide.output;
  }
  EXPECT_NE(wide.output.find("Running"), std::string::npos) << wide.output;
}

TEST_F(KubectlControllersTest, SetImageRollsOutANewReplicaSetAndUndoBringsTheOldTemplateBack) {
  createDeployment("web", 3);
  auto set = kubectl({"set", "image", "deployment/web", "nginx=nginx:1.27"});
  ASSERT_EQ(set.exit_code, 0) << set.output;
  auto status = kubectlWait({"rollout", "status", "deployment/web", "--timeout=60s"});
  ASSERT_EQ(status.exit_code, 0) << status.output << controllerLogs();

  auto replicaSetsByImage = [&] {
    std::map<std::string, int64_t> replicas;  // image → spec.replicas
    json sets = getJson({"get", "rs", "-l", "app=web"});
    for (const auto& rs : sets["items"]) {
      replicas[rs["spec"]["template"]["spec"]["containers"][0].value("image", "")] =
          rs["spec"].value("replicas", int64_t{-1});
    }
    return replicas;
  };
  ASSERT_TRUE(eventually(
      [&] {
        return replicaSetsByImage() ==
               std::map<std::string, int64_t>{{"nginx", 0}, {"nginx:1.27", 3}};
      },
      seconds(30)))
      << getJson({"get", "rs"}).dump();
  ASSERT_TRUE(eventually(
      [&] {
        auto pods = livePods("app=web");
        return pods.size() == 3 && std::all_of(pods.begin(), pods.end(), [](const json& p) {
                 return p["spec"]["containers"][0].value("image", "") == "nginx:1.27";
               });
      },
      seconds(30)));

  auto undo = kubectl({"rollout", "undo", "deployment/web"});
  ASSERT_EQ(undo.exit_code, 0) << undo.output;
  status = kubectlWait({"rollout", "status", "deployment/web", "--timeout=60s"});
  ASSERT_EQ(status.exit_code, 0) << status.output << controllerLogs();
  json deployment = getJson({"get", "deployment", "web"});
  EXPECT_EQ(deployment["spec"]["template"]["spec"]["containers"][0]["image"], "nginx");
  // The old ReplicaSet is scaled back up rather than a third one made.
  EXPECT_TRUE(eventually(
      [&] {
        return replicaSetsByImage() ==
               std::map<std::string, int64_t>{{"nginx", 3}, {"nginx:1.27", 0}};
      },
      seconds(30)))
      << getJson({"get", "rs"}).dump();
}

TEST_F(KubectlControllersTest, RolloutRestartMakesANewReplicaSetAndScalesTheOldToZero) {
  createDeployment("web", 3);
  auto restart = kubectl({"rollout", "restart", "deployment/web"});
  ASSERT_EQ(restart.exit_code, 0) << restart.output;
  auto status = kubectlWait({"rollout", "status", "deployment/web", "--timeout=60s"});
  ASSERT_EQ(status.exit_code, 0) << status.output << controllerLogs();
  ASSERT_TRUE(eventually(
      [&] {
        auto sets = getJson({"get", "rs", "-l", "app=web"})["items"];
        if (sets.size() != 2) {
          return false;
        }
        int restarted = 0;
        int zero = 0;
        for (const auto& rs : sets) {
          bool annotated = rs["spec"]["template"]["metadata"].contains("annotations") &&
                           rs["spec"]["template"]["metadata"]["annotations"].contains(
                               "kubectl.kubernetes.io/restartedAt");
          int64_t replicas = rs["spec"].value("replicas", int64_t{-1});
          restarted += annotated && replicas == 3 ? 1 : 0;
          zero += !annotated && replicas == 0 ? 1 : 0;
        }
        return restarted == 1 && zero == 1;
      },
      seconds(30)))
      << getJson({"get", "rs"}).dump();
}

TEST_F(KubectlControllersTest, ScaledDeploymentsPodCountFollows) {
  createDeployment("web", 3);
  ASSERT_EQ(kubectl({"scale", "deployment", "web", "--replicas=6"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return runningPods("app=web") == 6 && allPods("app=web") == 6; },
                         seconds(40)))
      << getJson({"get", "pods"}).dump();
  ASSERT_EQ(kubectl({"scale", "deployment", "web", "--replicas=2"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return runningPods("app=web") == 2 && allPods("app=web") == 2; },
                         seconds(40)))
      << getJson({"get", "pods"}).dump();
}

TEST_F(KubectlControllersTest, DeletedDeploymentsReplicaSetsAndPodsAreCollected) {
  createDeployment("web", 3);
  auto deleted = kubectlWait({"delete", "deployment", "web", "--timeout=60s"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_TRUE(eventually(
      [&] {
        return getJson({"get", "rs", "-l", "app=web"})["items"].empty() && allPods("app=web") == 0;
      },
      seconds(40)))
      << getJson({"get", "rs,pods"}).dump();
}

TEST_F(KubectlControllersTest, OrphanDeleteLeavesTheReplicaSetWithoutOwner) {
  createDeployment("web", 2);
  auto deleted = kubectlWait({"delete", "deployment", "web", "--cascade=orphan", "--timeout=60s"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_NE(kubectl({"get", "deployment", "web"}).exit_code, 0);
  json sets = getJson({"get", "rs", "-l", "app=web"});
  ASSERT_EQ(sets["items"].size(), 1u) << sets.dump();
  EXPECT_TRUE(!sets["items"][0]["metadata"].contains("ownerReferences") ||
              sets["items"][0]["metadata"]["ownerReferences"].empty())
      << sets.dump();
  EXPECT_EQ(runningPods("app=web"), 2u);
}

TEST_F(KubectlControllersTest, ForegroundDeleteRemovesDependentsBeforeTheDeployment) {
  createDeployment("web", 2);
  auto deleted =
      kubectlWait({"delete", "deployment", "web", "--cascade=foreground", "--timeout=60s"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  // kubectl waited until the Deployment was gone; foreground means its dependents went first.
  EXPECT_NE(kubectl({"get", "deployment", "web"}).exit_code, 0);
  EXPECT_TRUE(getJson({"get", "rs", "-l", "app=web"})["items"].empty());
  EXPECT_TRUE(eventually([&] { return allPods("app=web") == 0; }, seconds(30)));
}

TEST_F(KubectlControllersTest, ExposedDeploymentGetsAClusterIPAndEndpointsOfItsPods) {
  createDeployment("web", 3);
  auto exposed = kubectl({"expose", "deployment", "web", "--port", "80", "--target-port", "8080"});
  ASSERT_EQ(exposed.exit_code, 0) << exposed.output;
  json service = getJson({"get", "service", "web"});
  std::string ip = service["spec"].value("clusterIP", "");
  EXPECT_FALSE(ip.empty());
  EXPECT_NE(ip, "None");

  std::set<std::string> pod_ips;
  for (const auto& pod : livePods("app=web")) {
    pod_ips.insert(pod["status"].value("podIP", ""));
  }
  ASSERT_EQ(pod_ips.size(), 3u);
  std::set<std::string> endpoint_ips;
  EXPECT_TRUE(eventually(
      [&] {
        endpoint_ips.clear();
        json endpoints = getJson({"get", "endpoints", "web"});
        for (const auto& subset : endpoints.value("subsets", json::array())) {
          for (const auto& address : subset.value("addresses", json::array())) {
            endpoint_ips.insert(address.value("ip", ""));
          }
          if (subset.value("ports", json::array()).empty() ||
              subset["ports"][0].value("port", 0) != 8080) {
            return false;
          }
        }
        return endpoint_ips == pod_ips;
      },
      seconds(30)))
      << getJson({"get", "endpoints", "web"}).dump();
  auto table = kubectl({"get", "endpoints", "web"});
  for (const auto& pod_ip : pod_ips) {
    EXPECT_NE(table.output.find(pod_ip + ":8080"), std::string::npos) << table.output;
  }
}

TEST_F(KubectlControllersTest, DrainWaitsForTheBudgetAndCompletesOnceItAllowsAnEviction) {
  createDeployment("web", 3);
  auto pdb = kubectl({"create", "pdb", "web", "--selector=app=web", "--min-available=3"});
  ASSERT_EQ(pdb.exit_code, 0) << pdb.output;
  ASSERT_TRUE(eventually(
      [&] {
        json budget = getJson({"get", "pdb", "web"});
        return budget["status"].value("currentHealthy", 0) == 3 &&
               budget["status"].value("observedGeneration", 0) ==
                   budget["metadata"].value("generation", -1);
      },
      seconds(30)));
  auto pods = livePods("app=web");
  ASSERT_EQ(pods.size(), 3u);
  std::string node = pods[0]["spec"]["nodeName"];

  // Blocked: every eviction would leave 2 < minAvailable 3; kubectl retries the 429s until its
  // timeout.
  auto blocked =
      kubectlWait({"drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=6s"},
                  seconds(30));
  EXPECT_NE(blocked.exit_code, 0) << blocked.output;
  EXPECT_NE(blocked.output.find("disruption budget"), std::string::npos) << blocked.output;
  EXPECT_EQ(runningPods("app=web"), 3u);

  // A fourth replica (not on the cordoned node) makes one disruption allowed.
  ASSERT_EQ(kubectl({"scale", "deployment", "web", "--replicas=4"}).exit_code, 0);
  ASSERT_TRUE(eventually(
      [&] {
        return getJson({"get", "pdb", "web"})["status"].value("disruptionsAllowed", 0) >= 1;
      },
      seconds(30)))
      << getJson({"get", "pdb", "web"}).dump();
  auto drained = kubectlWait(
      {"drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s"});
  ASSERT_EQ(drained.exit_code, 0) << drained.output << controllerLogs();
  EXPECT_NE(drained.output.find("drained"), std::string::npos) << drained.output;
  EXPECT_TRUE(eventually(
      [&] {
        auto live = livePods("app=web");
        return runningPods("app=web") == 4 &&
               std::none_of(live.begin(), live.end(),
                            [&](const json& p) { return p["spec"].value("nodeName", "") == node; });
      },
      seconds(40)))
      << getJson({"get", "pods"}).dump();

  auto uncordoned = kubectl({"uncordon", node});
  ASSERT_EQ(uncordoned.exit_code, 0) << uncordoned.output;
  EXPECT_FALSE(getJson({"get", "node", node})["spec"].value("unschedulable", false));
}

TEST_F(KubectlControllersTest, CordonedNodeGetsNoNewPodsAndAnUnfitPodStaysPendingWithAnEvent) {
  auto cordoned = kubectl({"cordon", "sim-0"});
  ASSERT_EQ(cordoned.exit_code, 0) << cordoned.output;
  // As kube-controller-manager does, the node lifecycle controller marks a cordon with a taint.
  std::string taints;
  EXPECT_TRUE(eventually(
      [&] {
        taints = kubectl({"get", "node", "sim-0", "-o", "jsonpath={.spec.taints}"}).output;
        return taints.find("node.kubernetes.io/unschedulable") != std::string::npos;
      },
      seconds(10)))
      << taints;
  createDeployment("web", 4);
  for (const auto& pod : livePods("app=web")) {
    EXPECT_NE(pod["spec"].value("nodeName", ""), "sim-0") << pod.dump();
  }

  std::string big = writeFile("big.yaml", R"(apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers:
  - name: app
    image: nginx
    resources: {requests: {cpu: "100"}}
)");
  auto created = kubectl({"apply", "-f", big});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::string described;
  EXPECT_TRUE(eventually(
      [&] {
        described = kubectl({"describe", "pod", "big"}).output;
        return described.find("FailedScheduling") != std::string::npos;
      },
      seconds(30)))
      << described;
  // Kubernetes' shape: "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu."
  EXPECT_NE(described.find("0/3 nodes are available:"), std::string::npos) << described;
  EXPECT_NE(described.find("Insufficient cpu"), std::string::npos) << described;
  EXPECT_NE(described.find("unschedulable"), std::string::npos) << described;
  json pod = getJson({"get", "pod", "big"});
  EXPECT_EQ(pod["status"]["phase"], "Pending");
  EXPECT_FALSE(pod["spec"].contains("nodeName"));
}

// A zone whose only node is cordoned and whose pod is deleted counts 0 for zone spreading (the
// terminating pod is not counted): with maxSkew 1 the replacement fits nowhere unless the
// constraint says nodeTaintsPolicy: Honor, which leaves the cordoned node (tainted
// node.kubernetes.io/unschedulable on Kubernetes) out of the domains. Both as kube-scheduler.
TEST_F(KubectlControllersTest, NodeTaintsPolicyHonorLetsAZoneSpreadReplacementLeaveACordonedZone) {
  auto manifest = [](const std::string& app, const std::string& policy) {
    return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + app +
           "}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: " + app +
           "}}\n  template:\n    metadata: {labels: {app: " + app +
           "}}\n    spec:\n      topologySpreadConstraints:\n"
           "      - maxSkew: 1\n        topologyKey: topology.kubernetes.io/zone\n"
           "        whenUnsatisfiable: DoNotSchedule\n" +
           (policy.empty() ? "" : "        nodeTaintsPolicy: " + policy + "\n") +
           "        labelSelector: {matchLabels: {app: " + app +
           "}}\n      containers:\n      - {name: app, image: nginx}\n";
  };
  std::string path =
      writeFile("spread.yaml", manifest("honor", "Honor") + "---\n" + manifest("ignore", ""));
  auto applied = kubectl({"apply", "-f", path});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  for (const char* app : {"honor", "ignore"}) {
    auto status =
        kubectlWait({"rollout", "status", std::string("deployment/") + app, "--timeout=60s"});
    ASSERT_EQ(status.exit_code, 0) << status.output << controllerLogs();
  }
  // One pod per zone each; the zone of the first honor pod's node loses its node.
  std::string node = livePods("app=honor").at(0)["spec"].value("nodeName", "");
  ASSERT_FALSE(node.empty());
  ASSERT_EQ(kubectl({"cordon", node}).exit_code, 0);
  for (const char* app : {"honor", "ignore"}) {
    for (const auto& pod : livePods(std::string("app=") + app)) {
      if (pod["spec"].value("nodeName", "") == node) {
        auto deleted = kubectl({"delete", "pod", pod["metadata"]["name"], "--wait=false"});
        ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
      }
    }
  }
  EXPECT_TRUE(eventually(
      [&] {
        auto live = livePods("app=honor");
        return runningPods("app=honor") == 3 &&
               std::none_of(live.begin(), live.end(),
                            [&](const json& p) { return p["spec"].value("nodeName", "") == node; });
      },
      seconds(30)))
      << getJson({"get", "pods", "-l", "app=honor"}).dump() << controllerLogs();
  // The default (Ignore): the cordoned zone still counts, with 0, so the replacement waits.
  std::string pending;
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& pod : livePods("app=ignore")) {
          if (pod["spec"].value("nodeName", "").empty()) {
            pending = pod["metadata"]["name"];
          }
        }
        return !pending.empty() &&
               kubectl({"describe", "pod", pending})
                       .output.find("2 node(s) didn't match pod topology spread constraints") !=
                   std::string::npos;
      },
      seconds(30)))
      << kubectl({"describe", "pod", pending}).output;
  EXPECT_EQ(runningPods("app=ignore"), 2u);
  ASSERT_EQ(kubectl({"uncordon", node}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return runningPods("app=ignore") == 3; }, seconds(30)));
}

TEST_F(KubectlControllersTest, DescribeAndGetEventsShowTheControllersEvents) {
  createDeployment("web", 3);
  std::string described;
  EXPECT_TRUE(eventually(
      [&] {
        described = kubectl({"describe", "deployment", "web"}).output;
        return described.find("ScalingReplicaSet") != std::string::npos;
      },
      seconds(20)))
      << described;
  EXPECT_NE(described.find("Scaled up replica set web-"), std::string::npos) << described;
  std::string events;
  EXPECT_TRUE(eventually(
      [&] {
        events = kubectl({"get", "events"}).output;
        return events.find("Scheduled") != std::string::npos &&
               events.find("SuccessfulCreate") != std::string::npos;
      },
      seconds(20)))
      << events;
}

TEST_F(KubectlControllersTest, AuthWhoamiPrintsTheAdminUser) {
  auto whoami = kubectl({"auth", "whoami"});
  ASSERT_EQ(whoami.exit_code, 0) << whoami.output;
  EXPECT_NE(whoami.output.find("Username"), std::string::npos) << whoami.output;
  EXPECT_NE(whoami.output.find("admin"), std::string::npos) << whoami.output;
  EXPECT_NE(whoami.output.find("system:masters"), std::string::npos) << whoami.output;
}

TEST_F(KubectlControllersTest, KilledAgentsNodesBecomeNotReadyAndUnreachableWithinTheGrace) {
  ASSERT_EQ(::kill(agent_pid_, SIGKILL), 0);
  runtime::waitExit(agent_pid_, seconds(5));
  agent_pid_ = 0;
  auto killed = std::chrono::steady_clock::now();
  auto lost = [&] {
    json nodes = getJson({"get", "nodes"});
    size_t count = 0;
    for (const auto& node : nodes.value("items", json::array())) {
      bool unknown = false;
      for (const auto& c : node["status"].value("conditions", json::array())) {
        unknown = unknown || (c["type"] == "Ready" && c["status"] == "Unknown");
      }
      bool tainted = false;
      for (const auto& t : node["spec"].value("taints", json::array())) {
        tainted =
            tainted || (t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute");
      }
      count += unknown && tainted ? 1 : 0;
    }
    return count == 3;
  };
  // Grace 4s after the last renewal, plus the controller's monitor period and kubectl's time.
  ASSERT_TRUE(eventually(lost, seconds(15), milliseconds(250)))
      << getJson({"get", "nodes"}).dump() << controllerLogs();
  EXPECT_LT(std::chrono::steady_clock::now() - killed, seconds(15));
  auto table = kubectl({"get", "nodes"});
  EXPECT_NE(table.output.find("NotReady"), std::string::npos) << table.output;
}

// Mass failure is not a node failure: when every node goes quiet at once (here the one agent
// process behind all three simulated nodes dies), the nodes are marked NotReady but their pods
// are not evicted, even with tolerations of 0 s that would evict them at once after a single
// node's loss.
TEST_F(KubectlControllersTest, AllNodesGoingQuietAtOnceEvictNothing) {
  for (auto& [identity, c] : controllers_) {
    runtime::terminate(c.pid, seconds(5));
    c.pid = 0;
  }
  startController("ctrl-c", 0,
                  {"--node-monitor-grace-period", kGrace, "--default-unreachable-toleration-seconds",
                   "0", "--default-not-ready-toleration-seconds", "0"});
  ASSERT_TRUE(eventually([&] { return leaseHolder() == "ctrl-c"; }, seconds(20)))
      << readWholeFile(controllers_["ctrl-c"].log);
  createDeployment("steady", 3);
  ASSERT_EQ(::kill(agent_pid_, SIGKILL), 0);
  runtime::waitExit(agent_pid_, seconds(5));
  agent_pid_ = 0;
  ASSERT_TRUE(eventually(
      [&] {
        auto table = kubectl({"get", "nodes", "--no-headers"});
        size_t not_ready = 0;
        for (size_t at = table.output.find("NotReady"); at != std::string::npos;
             at = table.output.find("NotReady", at + 1)) {
          ++not_ready;
        }
        return not_ready == 3;
      },
      seconds(15), milliseconds(250)))
      << kubectl({"get", "nodes"}).output;
  std::this_thread::sleep_for(seconds(3));  // many monitor periods (grace / 10) later
  auto pods = livePods("app=steady");
  EXPECT_EQ(pods.size(), 3u);
  EXPECT_EQ(allPods("app=steady"), 3u);  // none deleted, none replaced
  EXPECT_NE(readWholeFile(controllers_["ctrl-c"].log).find("mass disruption"), std::string::npos)
      << readWholeFile(controllers_["ctrl-c"].log);
}

}  // namespace
}  // namespace rampart

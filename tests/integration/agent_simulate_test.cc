// `rampart agent --simulate N` against real `rampart server`s on a real 3-member etcd, checked
// with the real kubectl (kubectl_fixture.h): the nodes are Ready in their zones, a pod bound to
// one runs and is deleted, and a killed agent's Leases stop being renewed.

#include <signal.h>

#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kubectl_fixture.h"

namespace rampart {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::eventually;
using testing::KubectlTest;

class AgentSimulateTest : public KubectlTest {
 protected:
  json getJson(std::vector<std::string> args) {
    args.push_back("-o");
    args.push_back("json");
    auto out = kubectl(args);
    EXPECT_EQ(out.exit_code, 0) << out.output;
    json parsed = json::parse(out.output, nullptr, false);
    return parsed.is_discarded() ? json() : parsed;
  }

  std::string renewTime(const std::string& node) {
    json lease = getJson({"get", "lease", "-n", "kube-node-lease", node});
    return lease.value("/spec/renewTime"_json_pointer, std::string());
  }

  void startAgent(int n) { startSimulatedAgent(n, "zone-a,zone-b,zone-c"); }
};

TEST_F(AgentSimulateTest, SimulatedNodesAreReadyInTheirZonesAndRunABoundPod) {
  startAgent(5);
  json nodes = getJson({"get", "nodes"});
  ASSERT_EQ(nodes["items"].size(), 5u) << nodes.dump();
  std::map<std::string, int> zones;
  for (const auto& node : nodes["items"]) {
    ++zones[node["metadata"]["labels"].value("topology.kubernetes.io/zone", "")];
    bool ready = false;
    for (const auto& c : node["status"]["conditions"]) {
      ready = ready || (c["type"] == "Ready" && c["status"] == "True");
    }
    EXPECT_TRUE(ready) << node.dump();
  }
  EXPECT_EQ(zones, (std::map<std::string, int>{{"zone-a", 2}, {"zone-b", 2}, {"zone-c", 1}}));
  auto table = kubectl({"get", "nodes", "-L", "topology.kubernetes.io/zone"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("sim-4   Ready"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("v1.32.0-rampart"), std::string::npos) << table.output;

  std::string pod = writeFile("pod.yaml", R"(apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: sim-3
  containers:
  - name: app
    image: nginx:1.27
)");
  auto created = kubectl({"apply", "-f", pod});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  auto ready =
      kubectl(servers_.front().kubeconfig,
              {"wait", "--for=condition=Ready", "pod/web", "--timeout=20s"}, "", seconds(30));
  ASSERT_EQ(ready.exit_code, 0) << ready.output << testing::readWholeFile(agent_log_);
  json running = getJson({"get", "pod", "web"});
  EXPECT_EQ(running["status"]["phase"], "Running");
  EXPECT_EQ(running["status"]["hostIP"], "172.16.0.4");
  EXPECT_EQ(running["status"]["podIP"], "10.64.3.2");
  EXPECT_EQ(running["status"]["containerStatuses"][0]["ready"], true);

  // kubectl delete waits for the pod to be gone: the simulated node's final delete.
  auto deleted = kubectl(servers_.front().kubeconfig, {"delete", "pod", "web", "--timeout=20s"}, "",
                         seconds(30));
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  auto gone = kubectl({"get", "pod", "web"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.output.find("NotFound"), std::string::npos) << gone.output;
}

TEST_F(AgentSimulateTest, AKilledAgentStopsRenewingItsLeases) {
  startAgent(2);
  std::string first = renewTime("sim-1");
  ASSERT_FALSE(first.empty());
  ASSERT_TRUE(eventually([&] { return renewTime("sim-1") > first; }, seconds(5)))
      << "renewTime advances while the agent runs";
  ASSERT_EQ(::kill(agent_pid_, SIGKILL), 0);
  ASSERT_TRUE(runtime::waitExit(agent_pid_, seconds(5)));
  agent_pid_ = 0;
  std::string last = renewTime("sim-1");
  std::this_thread::sleep_for(milliseconds(1000));  // five renew intervals: none may come
  EXPECT_EQ(renewTime("sim-1"), last);
}

TEST_F(AgentSimulateTest, SigtermStopsTheAgentCleanly) {
  startAgent(1);
  ASSERT_EQ(::kill(agent_pid_, SIGTERM), 0);
  auto status = runtime::waitExit(agent_pid_, seconds(12));
  ASSERT_TRUE(status) << "exits after SIGTERM";
  agent_pid_ = 0;
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_NE(testing::readWholeFile(agent_log_).find("{\"event\":\"stopped\""), std::string::npos);
}

TEST(AgentCommand, BadFlagsAreRefusedNamingTheFlagBeforeAnythingStarts) {
  auto result = runtime::runCommand({RAMPART_BINARY, "agent"}, seconds(10));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("--kubeconfig is required"), std::string::npos) << result.output;
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--node-ip", "not-an-ip"},
           {"--system-reserved", "disk=1Gi"},
           {"--register-with-taints", "a=b:Sometimes"},
           {"--crash-loop-initial-delay", "soon"},
           {"--labels", "no-equals"}}) {
    auto refused = runtime::runCommand(
        {RAMPART_BINARY, "agent", "--kubeconfig", "/nonexistent", flag, value}, seconds(10));
    EXPECT_EQ(refused.exit_code, 2) << flag << ": " << refused.output;
    EXPECT_NE(refused.output.find(flag), std::string::npos) << refused.output;
  }
  auto bad = runtime::runCommand({RAMPART_BINARY, "agent", "--kubeconfig", "/nonexistent",
                                  "--simulate", "3", "--zones", "a,,b"},
                                 seconds(10));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--zones"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace rampart

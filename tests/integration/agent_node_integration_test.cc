// `rampart agent` on a real node (issue 14), driven by the real kubectl: etcd x3, two
// `rampart server`s, one `rampart controller`, and one real agent (root) whose pods are real
// processes. The agent runs without --pod-cidr here, so its pods share the test's network
// namespace and listen on loopback ports the test picks (pod networks have their own tests,
// which build namespaces). Each test checks what kubectl shows and what the processes did.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller_fixture.h"
#include "net/endpoint.h"
#include "testing/agent_cgroups.h"

namespace rampart {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::eventually;
using testing::readWholeFile;

class AgentNodeTest : public testing::ControllerTest {
 protected:
  static constexpr const char* kFence = "5s";

  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "rampart agent runs pods as root";
    }
    ControllerTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    agents_.reserve(4);  // references stay valid
    node_ = addAgent("a", "a").name;
    // Timing with slack for a loaded 2-core machine; the agent's fence equals the controller's.
    startController("ctrl", 0, {"--node-monitor-grace-period", "4s", "--node-fence-after", kFence});
    startNodeAgent();
  }

  void TearDown() override {
    for (auto& a : agents_) {
      if (HasFailure()) {
        std::printf("agent %s log:\n%s\n", a.name.c_str(), readWholeFile(a.log).c_str());
      }
      stopAgent(a, SIGTERM);
      // The agent leaves its pods running by design (a restart re-adopts them).
      testing::killNodePods(a.name);
    }
    ControllerTest::TearDown();
  }

  struct NodeAgent {
    std::string name;
    std::string zone;
    std::string log;
    std::string root;
    pid_t pid = 0;
  };

  // Starts (or restarts) a node's agent and waits for a new "ready" line in its log.
  void startAgent(NodeAgent& a) {
    auto readyLines = [&] {
      std::string log = readWholeFile(a.log);
      size_t n = 0;
      for (size_t at = log.find("{\"event\":\"ready\""); at != std::string::npos;
           at = log.find("{\"event\":\"ready\"", at + 1)) {
        ++n;
      }
      return n;
    };
    size_t before = readyLines();
    std::vector<std::string> argv = {RAMPART_BINARY,
                                     "agent",
                                     "--kubeconfig",
                                     servers_.front().kubeconfig,
                                     "--node-name",
                                     a.name,
                                     "--node-ip",
                                     "127.0.0.1",
                                     "--root-dir",
                                     a.root,
                                     "--port",
                                     "0",
                                     "--labels",
                                     "topology.kubernetes.io/zone=" + a.zone,
                                     "--crash-loop-initial-delay",
                                     "1s",
                                     "--node-fence-after",
                                     kFence};
    auto pid = runtime::spawn(runtime::SpawnOptions{argv, a.log, "", true, true});
    ASSERT_TRUE(pid) << pid.error().message;
    a.pid = *pid;
    ASSERT_TRUE(eventually([&] { return readyLines() > before; }, seconds(20)))
        << readWholeFile(a.log);
  }

  void stopAgent(NodeAgent& a, int signal) {
    if (a.pid > 0) {
      if (signal == SIGKILL) {
        ::kill(a.pid, SIGKILL);
        runtime::waitExit(a.pid, seconds(5));
      } else {
        runtime::terminate(a.pid, seconds(5));
      }
      a.pid = 0;
    }
  }

  NodeAgent& addAgent(const std::string& suffix, const std::string& zone) {
    agents_.push_back({"node-" + std::to_string(::getpid()) + "-" + suffix, zone,
                       dir_.path() + "/agent-" + suffix + ".log", dir_.path() + "/agent-" + suffix,
                       0});
    return agents_.back();
  }

  void startNodeAgent() { startAgent(agents_.front()); }
  void stopNodeAgent(int signal) { stopAgent(agents_.front(), signal); }

  json getJson(std::vector<std::string> args) {
    args.push_back("-o");
    args.push_back("json");
    auto out = kubectl(args);
    json parsed = json::parse(out.output, nullptr, false);
    return parsed.is_discarded() ? json() : parsed;
  }

  testing::Kubectl apply(const std::string& name, const std::string& yaml) {
    return kubectl({"apply", "-f", writeFile(name, yaml)});
  }

  bool podReady(const std::string& pod) {
    json p = getJson({"get", "pod", pod});
    if (p.is_null()) {
      return false;
    }
    for (const auto& c : p["status"].value("conditions", json::array())) {
      if (c.value("type", "") == "Ready") {
        return c.value("status", "") == "True";
      }
    }
    return false;
  }

  std::vector<NodeAgent> agents_;
  std::string node_;  // the first agent's node
};

TEST_F(AgentNodeTest, APodRunsItsCommandWithItsEnvironmentUserAndVolumes) {
  ASSERT_EQ(kubectl({"create", "configmap", "settings", "--from-literal=greeting=hello"}).exit_code, 0);
  ASSERT_EQ(kubectl({"create", "secret", "generic", "creds", "--from-literal=password=s3cr3t"})
                .exit_code,
            0);
  auto applied = apply("pod.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: env-check
spec:
  nodeName: )" + node_ + R"(
  restartPolicy: Never
  securityContext:
    runAsUser: 65534
    runAsGroup: 65534
  containers:
  - name: main
    image: debian:12
    command: ["/bin/sh", "-c"]
    args: ["echo greeting=$GREETING; echo pod=$POD_NAME; echo password=$(cat /etc/creds/password); echo uid=$(id -u); echo cwd=$(pwd); echo scratch > /scratch/x && echo wrote"]
    workingDir: /tmp
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef: {name: settings, key: greeting}
    - name: POD_NAME
      valueFrom:
        fieldRef: {fieldPath: metadata.name}
    volumeMounts:
    - {name: creds, mountPath: /etc/creds}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - name: creds
    secret: {secretName: creds}
  - name: scratch
    emptyDir: {}
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_TRUE(eventually(
      [&] { return getJson({"get", "pod", "env-check"})["status"].value("phase", "") == "Succeeded"; },
      seconds(30)))
      << getJson({"get", "pod", "env-check"}).dump(2);
  json pod = getJson({"get", "pod", "env-check"});
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 0);
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
  auto logs = kubectl({"logs", "env-check"});
  ASSERT_EQ(logs.exit_code, 0) << logs.output;
  EXPECT_NE(logs.output.find("greeting=hello"), std::string::npos) << logs.output;
  EXPECT_NE(logs.output.find("pod=env-check"), std::string::npos) << logs.output;
  EXPECT_NE(logs.output.find("password=s3cr3t"), std::string::npos) << logs.output;
  EXPECT_NE(logs.output.find("uid=65534"), std::string::npos) << logs.output;
  EXPECT_NE(logs.output.find("cwd=/tmp"), std::string::npos) << logs.output;
  EXPECT_NE(logs.output.find("wrote"), std::string::npos) << logs.output;
}

TEST_F(AgentNodeTest, ACrashingContainerIsRestartedWithBackOffAndShownAsCrashLoopBackOff) {
  auto applied = apply("crash.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  nodeName: )" + node_ + R"(
  containers:
  - name: main
    image: busybox
    command: ["/bin/sh", "-c", "echo attempt; exit 3"]
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  // Initial delay 1s: restarts at about 0 s, 1 s, 2 s, 4 s …
  ASSERT_TRUE(eventually(
      [&] {
        json pod = getJson({"get", "pod", "crasher"});
        auto statuses = pod["status"].value("containerStatuses", json::array());
        return !statuses.empty() && statuses[0].value("restartCount", 0) >= 3;
      },
      seconds(40)))
      << getJson({"get", "pod", "crasher"}).dump(2);
  json status = getJson({"get", "pod", "crasher"})["status"]["containerStatuses"][0];
  EXPECT_EQ(status["lastState"]["terminated"]["exitCode"], 3) << status.dump(2);
  EXPECT_TRUE(eventually(
      [&] { return kubectl({"get", "pod", "crasher"}).output.find("CrashLoopBackOff") != std::string::npos; },
      seconds(20)));
  auto previous = kubectl({"logs", "crasher", "--previous"});
  EXPECT_EQ(previous.exit_code, 0) << previous.output;
  EXPECT_NE(previous.output.find("attempt"), std::string::npos) << previous.output;
}

TEST_F(AgentNodeTest, AReadinessProbeGatesReadyAndTheServicesEndpoints) {
  auto picked = net::pickFreePort("127.0.0.1");
  ASSERT_TRUE(picked);
  uint16_t port = *picked;
  std::string flag = dir_.path() + "/ready-flag";
  auto applied = apply("web.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        rampart.io/probe-period-ms: "200"
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: http
        image: python:3
        command: ["python3", "-m", "http.server", ")" + std::to_string(port) + R"(", "--bind", "127.0.0.1"]
        workingDir: /tmp
        readinessProbe:
          exec:
            command: ["test", "-e", ")" + flag + R"("]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: )" + std::to_string(port) + R"(
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  std::string pod;
  ASSERT_TRUE(eventually(
      [&] {
        json pods = getJson({"get", "pods", "-l", "app=web"});
        auto items = pods.value("items", json::array());
        if (items.empty() || items[0]["status"].value("phase", "") != "Running") {
          return false;
        }
        pod = items[0]["metadata"]["name"];
        return true;
      },
      seconds(30)));
  // Running but not ready while the probe fails; the endpoints list it as not ready.
  std::this_thread::sleep_for(milliseconds(800));
  EXPECT_FALSE(podReady(pod));
  json endpoints = getJson({"get", "endpoints", "web"});
  EXPECT_FALSE(endpoints["subsets"].is_array() && !endpoints["subsets"].empty() &&
               endpoints["subsets"][0].contains("addresses"))
      << endpoints.dump(2);

  std::ofstream(flag) << "ok";
  ASSERT_TRUE(eventually([&] { return podReady(pod); }, seconds(10)));
  ASSERT_TRUE(eventually(
      [&] {
        json e = getJson({"get", "endpoints", "web"});
        return e["subsets"].is_array() && !e["subsets"].empty() &&
               e["subsets"][0].contains("addresses");
      },
      seconds(10)));

  std::filesystem::remove(flag);
  EXPECT_TRUE(eventually([&] { return !podReady(pod); }, seconds(10)));
}

TEST_F(AgentNodeTest, ADeletedPodsProcessesAreStoppedBeforeTheObjectGoes) {
  auto applied = apply("sleeper.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: sleeper
spec:
  nodeName: )" + node_ + R"(
  terminationGracePeriodSeconds: 3
  containers:
  - name: main
    image: busybox
    command: ["/bin/sh", "-c", "trap 'echo term; exit 0' TERM; while true; do sleep 0.1; done"]
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_TRUE(eventually([&] { return podReady("sleeper"); }, seconds(30)));
  std::string marker = "while true; do sleep 0.1";
  auto deleted = kubectl(servers_.front().kubeconfig, {"delete", "pod", "sleeper", "--timeout=30s"},
                         "", seconds(40));
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  // kubectl delete returns once the object is gone; the agent deletes it only after its
  // processes exited.
  auto pids = runtime::runCommand({"pgrep", "-f", marker}, seconds(5));
  EXPECT_NE(pids.exit_code, 0) << "still running: " << pids.output;
}

TEST_F(AgentNodeTest, AnAgentRestartKeepsItsPodsRunning) {
  auto applied = apply("keeper.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: keeper
spec:
  replicas: 1
  selector:
    matchLabels: {app: keeper}
  template:
    metadata:
      labels: {app: keeper}
    spec:
      containers:
      - name: main
        image: busybox
        command: ["/bin/sh", "-c", "echo started; exec sleep 3600"]
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  std::string pod;
  ASSERT_TRUE(eventually(
      [&] {
        auto items = getJson({"get", "pods", "-l", "app=keeper"}).value("items", json::array());
        if (items.size() != 1) {
          return false;
        }
        pod = items[0]["metadata"]["name"];
        return podReady(pod);
      },
      seconds(30)));
  json before = getJson({"get", "pod", pod});
  std::string started = before["status"]["containerStatuses"][0]["state"]["running"]["startedAt"];

  stopNodeAgent(SIGKILL);
  startNodeAgent();

  // Synced again by the new agent: same container, no restart.
  std::this_thread::sleep_for(seconds(2));
  json after = getJson({"get", "pod", pod});
  EXPECT_EQ(after["status"]["containerStatuses"][0]["restartCount"], 0) << after.dump(2);
  EXPECT_EQ(after["status"]["containerStatuses"][0]["state"]["running"]["startedAt"], started);
  EXPECT_TRUE(podReady(pod));
  auto logs = kubectl({"logs", pod});
  EXPECT_NE(logs.output.find("started"), std::string::npos) << logs.output;
}

// A pod that must not run twice (here a bare pod) runs under the node's fence: when the agent
// dies, the pod's own shim kills it once the last renewal's deadline has passed (--node-fence-
// after 5s less the margin), before the controller could start it elsewhere; a new agent then
// reports how it ended and runs it again.
TEST_F(AgentNodeTest, AUniquePodIsKilledOnItsNodeWhenTheFenceLapsesAfterTheAgentDies) {
  auto applied = apply("unique.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: unique
spec:
  nodeName: )" + node_ + R"(
  # Tolerated for ever, so the taint manager does not delete it once the node is fenced: the
  # test reads its status when the agent comes back (on a loaded machine the eviction came
  # first and the pod was gone).
  tolerations:
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute}
  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute}
  containers:
  - name: main
    image: busybox
    command: ["/bin/sh", "-c", "exec sleep 3600"]
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_TRUE(eventually([&] { return podReady("unique"); }, seconds(30)));
  std::vector<pid_t> pids = testing::nodePodProcesses(node_);
  ASSERT_FALSE(pids.empty());
  stopNodeAgent(SIGKILL);
  auto killed = std::chrono::steady_clock::now();
  auto alive = [&] {
    return std::any_of(pids.begin(), pids.end(), [](pid_t p) { return runtime::isAlive(p); });
  };
  std::this_thread::sleep_for(seconds(1));
  EXPECT_TRUE(alive()) << "killed before its fence lapsed";
  ASSERT_TRUE(eventually([&] { return !alive(); }, seconds(8), milliseconds(50)))
      << "the pod outlived its node's fence";
  EXPECT_LT(std::chrono::steady_clock::now() - killed, seconds(6));

  startNodeAgent();
  ASSERT_TRUE(eventually(
      [&] {
        json pod = getJson({"get", "pod", "unique"});
        if (!pod.is_object() || !pod.contains("status") || !pod["status"].is_object()) {
          return false;  // kubectl failed this once (a loaded machine), or no status yet
        }
        auto statuses = pod["status"].value("containerStatuses", json::array());
        return !statuses.empty() && statuses[0]["lastState"].contains("terminated") &&
               statuses[0]["lastState"]["terminated"].value("reason", "") == "Fenced";
      },
      seconds(20)))
      << getJson({"get", "pod", "unique"}).dump(2);
  EXPECT_TRUE(eventually([&] { return podReady("unique"); }, seconds(20)));
}

// A StatefulSet's pod on a node whose agent dies is made again on another node — but never while
// the old copy runs. Each copy appends "<uid> <wall ns>" every 50 ms to a history the test owns
// (a hostPath file); afterwards no two copies' intervals may overlap.
TEST_F(AgentNodeTest, AStatefulSetPodOfALostNodeRunsElsewhereButNeverTwice) {
  NodeAgent& other = addAgent("b", "b");
  startAgent(other);
  ASSERT_FALSE(HasFatalFailure());
  std::string history = dir_.path() + "/history";
  std::filesystem::create_directories(history);
  ::chmod(history.c_str(), 0777);
  auto applied = apply("db.yaml", R"(apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: 1
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: ["/bin/sh", "-c", "while true; do echo \"$UID_ $(date +%s%N)\" >> /history/log; sleep 0.05; done"]
        env:
        - name: UID_
          valueFrom:
            fieldRef: {fieldPath: metadata.uid}
        volumeMounts:
        - {name: history, mountPath: /history}
      volumes:
      - name: history
        hostPath: {path: )" + history + R"(}
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  std::string first_node;
  std::string first_uid;
  ASSERT_TRUE(eventually(
      [&] {
        json pod = getJson({"get", "pod", "db-0"});
        if (pod.is_null() || !podReady("db-0")) {
          return false;
        }
        first_node = pod["spec"].value("nodeName", "");
        first_uid = pod["metadata"].value("uid", "");
        return true;
      },
      seconds(30)));
  NodeAgent& lost = first_node == agents_[0].name ? agents_[0] : agents_[1];
  stopAgent(lost, SIGKILL);
  // Replaced: db-0 Ready again, a new object on the other node (grace 4 s, fence 5 s).
  ASSERT_TRUE(eventually(
      [&] {
        json pod = getJson({"get", "pod", "db-0"});
        return !pod.is_null() && pod["metadata"].value("uid", "") != first_uid &&
               pod["spec"].value("nodeName", "") != first_node && podReady("db-0");
      },
      seconds(40), milliseconds(250)))
      << getJson({"get", "pods"}).dump(2);
  std::this_thread::sleep_for(seconds(1));  // the new copy writes a while

  // The checker: per copy (uid), the first and last time it wrote; no two intervals overlap.
  std::map<std::string, std::pair<int64_t, int64_t>> spans;
  std::ifstream in(history + "/log");
  std::string uid;
  int64_t at = 0;
  while (in >> uid >> at) {
    auto [it, inserted] = spans.try_emplace(uid, at, at);
    it->second.first = std::min(it->second.first, at);
    it->second.second = std::max(it->second.second, at);
  }
  ASSERT_EQ(spans.size(), 2u) << "expected the first copy and its replacement";
  auto a = spans.begin()->second;
  auto b = std::next(spans.begin())->second;
  bool overlap = a.first <= b.second && b.first <= a.second;
  EXPECT_FALSE(overlap) << "two copies of db-0 ran at once: [" << a.first << ", " << a.second
                        << "] and [" << b.first << ", " << b.second << "]";
  int64_t gap_ms = (std::max(a.first, b.first) - std::min(a.second, b.second)) / 1'000'000;
  std::printf("db-0: the old copy stopped %lld ms before the new one started\n",
              static_cast<long long>(gap_ms));
}

// Pods deleted (by force) while their node's agent was down are stopped by the agent when it
// comes back, and the agent goes on running new pods.
TEST_F(AgentNodeTest, ARestartedAgentStopsThePodsDeletedWhileItWasAway) {
  auto applied = apply("gone.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: gone
spec:
  replicas: 3
  selector:
    matchLabels: {app: gone}
  template:
    metadata:
      labels: {app: gone}
    spec:
      containers:
      - name: main
        image: busybox
        command: ["/bin/sh", "-c", "exec sleep 3600"]
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_TRUE(eventually(
      [&] {
        auto items = getJson({"get", "pods", "-l", "app=gone"}).value("items", json::array());
        return items.size() == 3 && std::all_of(items.begin(), items.end(), [&](const json& p) {
                 return podReady(p["metadata"]["name"]);
               });
      },
      seconds(30)));
  std::vector<pid_t> old_pids = testing::nodePodProcesses(node_);
  ASSERT_EQ(old_pids.size(), 3u);
  stopNodeAgent(SIGKILL);
  ASSERT_EQ(kubectl({"scale", "deployment", "gone", "--replicas=0"}).exit_code, 0);
  auto removed = kubectl({"delete", "pods", "-l", "app=gone", "--force", "--grace-period=0"});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  startNodeAgent();
  EXPECT_TRUE(eventually(
      [&] {
        return std::none_of(old_pids.begin(), old_pids.end(),
                            [](pid_t p) { return runtime::isAlive(p); });
      },
      seconds(15)))
      << "the containers of deleted pods still run";
  ASSERT_EQ(kubectl({"scale", "deployment", "gone", "--replicas=1"}).exit_code, 0);
  EXPECT_TRUE(eventually(
      [&] {
        auto items = getJson({"get", "pods", "-l", "app=gone"}).value("items", json::array());
        return items.size() == 1 && podReady(items[0]["metadata"]["name"]);
      },
      seconds(30)))
      << "the agent no longer runs pods";
}

TEST_F(AgentNodeTest, KubectlExecRunsACommandInsideTheContainer) {
  auto applied = apply("exec.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: shell
spec:
  nodeName: )" + node_ + R"(
  containers:
  - name: main
    image: busybox
    command: ["/bin/sh", "-c", "exec sleep 3600"]
    env:
    - {name: WHO, value: container}
    volumeMounts:
    - {name: data, mountPath: /data}
  volumes:
  - name: data
    emptyDir: {}
)");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_TRUE(eventually([&] { return podReady("shell"); }, seconds(30)));
  auto exec = kubectl({"exec", "shell", "--", "sh", "-c", "echo hi-$WHO; touch /data/x; ls /data"});
  EXPECT_EQ(exec.exit_code, 0) << exec.output;
  EXPECT_NE(exec.output.find("hi-container"), std::string::npos) << exec.output;
  auto code = kubectl({"exec", "shell", "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(code.exit_code, 3) << code.output;
}

TEST_F(AgentNodeTest, TheNodeRegistersWithTheMachinesCapacityAndRenewsItsLease) {
  json node = getJson({"get", "node", node_});
  ASSERT_FALSE(node.is_null());
  EXPECT_EQ(node["metadata"]["labels"]["topology.kubernetes.io/zone"], "a");
  EXPECT_EQ(node["status"]["capacity"]["cpu"], std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_NE(node["status"]["nodeInfo"].value("kernelVersion", ""), "");
  std::string first = getJson({"get", "lease", "-n", "kube-node-lease", node_})["spec"]["renewTime"];
  std::this_thread::sleep_for(milliseconds(600));
  std::string second = getJson({"get", "lease", "-n", "kube-node-lease", node_})["spec"]["renewTime"];
  EXPECT_NE(first, second);
  auto ready = kubectl({"get", "node", node_});
  EXPECT_NE(ready.output.find(" Ready"), std::string::npos) << ready.output;
}

}  // namespace
}  // namespace rampart

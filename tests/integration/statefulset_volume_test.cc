// Per-pod volumes of a StatefulSet on real agents (issue 14): etcd x3, two `rampart server`s, one
// `rampart controller` and two real agents (root) in the test's network namespace. The set's
// volumeClaimTemplates give pod db-0 the claim data-db-0, which the scheduler binds to the node
// the pod first goes to and the agent keeps as <agent root>/volumes/default/data-db-0. The pod
// writes into it; the pod is deleted and its replacement — on the same node, the claim's — finds
// the file; a cordoned claim node keeps the replacement Pending with the volume conflict; a
// claim deleted while its pod runs waits (Terminating) for the pod; and once the claim is gone,
// its directory is removed.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller_fixture.h"
#include "testing/agent_cgroups.h"

namespace rampart {
namespace {
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::eventually;
using testing::readWholeFile;
namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class StatefulSetVolumeTest : public testing::ControllerTest {
 protected:
  struct NodeAgent {
    std::string name;
    std::string log;
    std::string root;
    pid_t pid = 0;
  };

  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "rampart agent runs pods as root";
    }
    ControllerTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    for (const char* suffix : {"a", "b"}) {
      agents_.push_back({"vol-" + std::to_string(::getpid()) + "-" + suffix,
                         dir_.path() + "/agent-" + suffix + ".log",
                         dir_.path() + "/agent-" + suffix, 0});
    }
    startController("ctrl", 0, {"--node-monitor-grace-period", "4s", "--node-fence-after", "5s"});
    for (auto& a : agents_) {
      startAgent(a);
      if (HasFatalFailure()) {
        return;
      }
    }
  }

  void TearDown() override {
    for (auto& a : agents_) {
      if (HasFailure()) {
        std::printf("agent %s log:\n%s\n", a.name.c_str(), readWholeFile(a.log).c_str());
      }
      if (a.pid > 0) {
        runtime::terminate(a.pid, seconds(5));
      }
      testing::killNodePods(a.name);  // the agent leaves its pods running by design
    }
    ControllerTest::TearDown();
  }

  void startAgent(NodeAgent& a) {
    std::vector<std::string> argv = {
        RAMPART_BINARY, "agent",     "--kubeconfig", servers_.front().kubeconfig,
        "--node-name",  a.name,      "--node-ip",    "127.0.0.1",
        "--root-dir",   a.root,      "--port",       "0",
        "--node-fence-after", "5s"};
    auto pid = runtime::spawn(runtime::SpawnOptions{argv, a.log, "", true, true});
    ASSERT_TRUE(pid) << pid.error().message;
    a.pid = *pid;
    ASSERT_TRUE(eventually(
        [&] { return contains(readWholeFile(a.log), "{\"event\":\"ready\""); }, seconds(20)))
        << readWholeFile(a.log);
  }

  json getJson(std::vector<std::string> args) {
    args.push_back("-o");
    args.push_back("json");
    auto out = kubectl(args);
    json parsed = json::parse(out.output, nullptr, false);
    return parsed.is_discarded() ? json() : parsed;
  }

  // db-0's node and uid once it is Running (empty while it is not).
  std::pair<std::string, std::string> running(const std::string& pod) {
    json p = getJson({"get", "pod", pod});
    if (p.is_null() || p["status"].value("phase", "") != "Running" ||
        p["metadata"].contains("deletionTimestamp")) {
      return {};
    }
    return {p["spec"].value("nodeName", ""), p["metadata"].value("uid", "")};
  }

  const NodeAgent& agentOf(const std::string& node) {
    return agents_[0].name == node ? agents_[0] : agents_[1];
  }

  std::vector<NodeAgent> agents_;
};

TEST_F(StatefulSetVolumeTest, APodsClaimKeepsItsDataOnItsNodeAcrossReplacementsUntilDeleted) {
  std::string mount = dir_.path() + "/mnt/data";
  // The first copy writes `first`; a later copy that finds it writes `second`.
  std::string yaml = R"(apiVersion: apps/v1
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
        command: ["/bin/sh", "-c", "if [ -f )" + mount + R"(/first ]; then echo $UID_ > )" +
                     mount + R"(/second; else echo $UID_ > )" + mount + R"(/first; fi; exec sleep 1000"]
        env:
        - name: UID_
          valueFrom:
            fieldRef: {fieldPath: metadata.uid}
        volumeMounts:
        - {name: data, mountPath: )" + mount + R"(}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
)";
  auto applied = kubectl({"apply", "-f", writeFile("db.yaml", yaml)});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  std::pair<std::string, std::string> first;
  ASSERT_TRUE(eventually([&] { return !(first = running("db-0")).first.empty(); }, seconds(40)))
      << kubectl({"get", "pods,pvc", "-o", "wide"}).output;
  std::string volume = agentOf(first.first).root + "/volumes/default/data-db-0";
  ASSERT_TRUE(eventually([&] { return fs::exists(volume + "/first"); }, seconds(10)))
      << "the pod wrote into " << volume;
  struct stat st {};
  ASSERT_EQ(::stat(volume.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(readWholeFile(volume + "/first"), first.second + "\n");

  // The claim: Bound, pinned to the pod's node, shown as kubectl shows claims.
  json claim = getJson({"get", "pvc", "data-db-0"});
  EXPECT_EQ(claim["status"].value("phase", ""), "Bound");
  EXPECT_EQ(claim["metadata"]["annotations"].value("volume.kubernetes.io/selected-node", ""),
            first.first);
  auto table = kubectl({"get", "pvc"});
  EXPECT_TRUE(contains(table.output, "NAME        STATUS   VOLUME")) << table.output;
  EXPECT_TRUE(contains(table.output, "CAPACITY   ACCESS MODES   STORAGECLASS   AGE"))
      << table.output;
  EXPECT_TRUE(contains(table.output, "data-db-0   Bound    pvc-")) << table.output;
  EXPECT_TRUE(contains(table.output, "1Gi        RWO")) << table.output;

  // A replacement pod goes to the claim's node and finds the data.
  ASSERT_EQ(kubectl({"delete", "pod", "db-0"}).exit_code, 0);
  std::pair<std::string, std::string> second;
  ASSERT_TRUE(eventually(
      [&] {
        second = running("db-0");
        return !second.first.empty() && second.second != first.second;
      },
      seconds(40)))
      << kubectl({"get", "pods,pvc", "-o", "wide"}).output;
  EXPECT_EQ(second.first, first.first);
  ASSERT_TRUE(eventually([&] { return fs::exists(volume + "/second"); }, seconds(10)));
  EXPECT_EQ(readWholeFile(volume + "/second"), second.second + "\n");
  EXPECT_EQ(readWholeFile(volume + "/first"), first.second + "\n");

  // Its node cordoned, the next replacement waits for it rather than leave its data behind.
  ASSERT_EQ(kubectl({"cordon", first.first}).exit_code, 0);
  ASSERT_EQ(kubectl({"delete", "pod", "db-0"}).exit_code, 0);
  ASSERT_TRUE(eventually(
      [&] {
        json p = getJson({"get", "pod", "db-0"});
        if (p.is_null() || p["metadata"].value("uid", "") == second.second) {
          return false;
        }
        for (const auto& c : p["status"].value("conditions", json::array())) {
          if (c.value("type", "") == "PodScheduled" && c.value("status", "") == "False") {
            return contains(c.value("message", ""), "had volume node affinity conflict");
          }
        }
        return false;
      },
      seconds(40)))
      << kubectl({"get", "pod", "db-0", "-o", "yaml"}).output;
  auto events = kubectl({"get", "events", "--field-selector", "reason=FailedScheduling"});
  EXPECT_TRUE(contains(events.output, "volume node affinity conflict")) << events.output;
  ASSERT_EQ(kubectl({"uncordon", first.first}).exit_code, 0);
  std::pair<std::string, std::string> third;
  ASSERT_TRUE(eventually(
      [&] {
        third = running("db-0");
        return !third.first.empty() && third.second != second.second;
      },
      seconds(40)));
  EXPECT_EQ(third.first, first.first);

  // Scaled to zero: the pod goes, the claim and its data stay (retention Retain).
  ASSERT_EQ(kubectl({"scale", "sts", "db", "--replicas=0"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return getJson({"get", "pod", "db-0"}).is_null(); }, seconds(30)));
  std::this_thread::sleep_for(seconds(2));  // the agent's claim sweep runs every second
  EXPECT_TRUE(fs::exists(volume + "/first"));
  EXPECT_FALSE(getJson({"get", "pvc", "data-db-0"}).is_null());

  // Scaled back: the pod returns to its data.
  ASSERT_EQ(kubectl({"scale", "sts", "db", "--replicas=1"}).exit_code, 0);
  std::pair<std::string, std::string> fourth;
  ASSERT_TRUE(eventually([&] { return !(fourth = running("db-0")).first.empty(); }, seconds(40)));
  EXPECT_EQ(fourth.first, first.first);

  // The claim deleted while its pod runs: Terminating (pvc-protection), the data stays.
  ASSERT_EQ(kubectl({"delete", "pvc", "data-db-0", "--wait=false"}).exit_code, 0);
  std::this_thread::sleep_for(seconds(2));
  EXPECT_TRUE(contains(kubectl({"get", "pvc", "data-db-0"}).output, "Terminating"));
  EXPECT_TRUE(fs::exists(volume + "/first"));
  EXPECT_EQ(running("db-0").second, fourth.second);

  // Its pod gone, the claim goes and its node's agent removes the directory.
  ASSERT_EQ(kubectl({"scale", "sts", "db", "--replicas=0"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return getJson({"get", "pvc", "data-db-0"}).is_null(); },
                         seconds(30)));
  EXPECT_TRUE(eventually([&] { return !fs::exists(volume); }, seconds(15), milliseconds(200)))
      << volume << " still exists";
}

}  // namespace
}  // namespace rampart

// `rampart up` (issue 15): a whole HA cluster on this machine, each node a network namespace,
// driven through the real CLI and the real kubectl. Each test makes its own cluster with a
// unique name and directory and removes it (`rampart down --purge`) also when it fails.
// Root only (namespaces, cgroups).

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/runtime/node_cleanup.h"
#include "cluster/api_probe.h"
#include "cluster/credentials.h"
#include "cluster/http_call.h"
#include "cluster/layout.h"
#include "cluster/lab_network.h"
#include "cluster/state.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"
#include "cluster_fixture.h"

namespace rampart {
namespace {
using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::eventually;
using testing::readWholeFile;

using testing::rampartCli;

// What the machine holds that a cluster could leave behind: namespaces, the host's links and
// nftables tables, agent cgroups, and processes whose command line names the directory.
struct Footprint {
  std::set<std::string> netns;
  std::string host_links;
  std::string nft_tables;
  std::set<std::string> cgroups;
  std::vector<std::string> processes;

  static Footprint take(const std::string& dir, const std::string& name) {
    Footprint f;
    for (const auto& n : cluster::listNetns()) {
      if (n.find(name) != std::string::npos) {
        f.netns.insert(n);
      }
    }
    auto links = runtime::runCommand({"ip", "-o", "link", "show"}, 5s).output;
    // Only the names: counters and states of unrelated links change meanwhile.
    std::istringstream in(links);
    std::string line;
    while (std::getline(in, line)) {
      auto a = line.find(": ");
      auto b = line.find(':', a + 2);
      if (a != std::string::npos && b != std::string::npos) {
        f.host_links += line.substr(a + 2, b - a - 2) + " ";
      }
    }
    f.nft_tables = runtime::runCommand({"nft", "list", "tables"}, 5s).output;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/sys/fs/cgroup/pids", ec)) {
      if (e.path().filename().string().find("rampart-" + name + "-") == 0) {
        f.cgroups.insert(e.path().filename());
      }
    }
    if (DIR* proc = ::opendir("/proc")) {
      while (dirent* e = ::readdir(proc)) {
        pid_t pid = std::atoi(e->d_name);
        if (pid > 0 && pid != ::getpid()) {
          auto line = runtime::commandLine(pid);
          if (line.find(dir + "/") != std::string::npos ||
              line.find("rampart-" + name + "-") != std::string::npos) {
            f.processes.push_back(std::to_string(pid) + " " + line);
          }
        }
      }
      ::closedir(proc);
    }
    return f;
  }
};

class ClusterUpTest : public testing::ClusterTest {
 protected:
  ClusterUpTest() : ClusterTest("ct") {}

  void SetUp() override {
    ClusterTest::SetUp();
    if (!IsSkipped()) {
      before_ = Footprint::take(dir_, name_);
    }
  }

  // `rampart up`, then the cluster's journal and tokens.
  void up(int masters, int workers) {
    ClusterTest::up(masters, workers);
    if (HasFatalFailure()) {
      return;
    }
    auto state = cluster::loadState(dir_);
    ASSERT_TRUE(state) << state.error().message;
    state_ = *state;
    auto tokens = cluster::readTokens(dir_);
    ASSERT_TRUE(tokens);
    tokens_ = *tokens;
  }

  // A GET through the kubectl gateway on the host's loopback; null on any failure.
  json get(const std::string& path) {
    cluster::HttpCall call;
    call.path = path;
    call.tls.ca = cluster::caFile(dir_);
    call.bearer = tokens_.admin;
    call.timeout = 1s;
    auto r = cluster::httpCall({"127.0.0.1", state_.gateway_port, true}, call);
    return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  }

  std::string controllerHolder() {
    auto lease = get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rampart-controller");
    return lease.is_object() ? lease["spec"].value("holderIdentity", "") : "";
  }

  std::map<std::string, std::string> readyNodes() {
    std::map<std::string, std::string> ready;
    auto nodes = get("/api/v1/nodes");
    if (!nodes.is_object()) {
      return ready;
    }
    for (const auto& n : nodes["items"]) {
      for (const auto& c : n["status"]["conditions"]) {
        if (c["type"] == "Ready") {
          ready[n["metadata"]["name"]] = c["status"];
        }
      }
    }
    return ready;
  }

  bool allReady() {
    auto ready = readyNodes();
    return ready.size() == state_.nodes.size() &&
           std::all_of(ready.begin(), ready.end(), [](auto& r) { return r.second == "True"; });
  }

  json statusJson() {
    auto r = rampartCli({"status", "--dir", dir_, "--json"}, 30s);
    return json::parse(r.output, nullptr, false);
  }

  cluster::ApiProbeOptions probeFrom(const std::string& node) {
    cluster::ApiProbeOptions o;
    o.netns = node;
    o.host = cluster::kApiVip;
    o.port = cluster::kApiPort;
    o.ca_file = cluster::caFile(dir_);
    o.token = tokens_.admin;
    // A failed request here means the VIP sent it nowhere, not that a loaded CI host was slow.
    o.timeout = 5s;
    return o;
  }

  // SIGKILLs every process of the node (its whole machine dies; its pods too).
  void killNode(const std::string& node) {
    for (pid_t p : cluster::netnsPids(node)) {
      ::kill(p, SIGKILL);
    }
    agent::runtime::signalNodePods(node, SIGKILL);
  }

  cluster::ClusterState state_;
  cluster::Tokens tokens_;
  Footprint before_;
};

TEST_F(ClusterUpTest, UpMakesEveryNodeReadyInItsZoneAndDownLeavesNothingBehind) {
  up(3, 2);
  EXPECT_NE(up_output_.find("export KUBECONFIG=" + dir_ + "/kubeconfig"), std::string::npos)
      << up_output_;
  auto nodes = kubectl({"get", "nodes", "-o", "json"});
  ASSERT_EQ(nodes.exit_code, 0) << nodes.output;
  auto list = json::parse(nodes.output);
  ASSERT_EQ(list["items"].size(), 5u);
  std::map<std::string, std::string> zones;
  int tainted = 0;
  for (const auto& n : list["items"]) {
    std::string name = n["metadata"]["name"];
    zones[name] = n["metadata"]["labels"]["topology.kubernetes.io/zone"];
    if (n["spec"].contains("taints")) {
      for (const auto& t : n["spec"]["taints"]) {
        tainted += t["key"] == "node-role.kubernetes.io/control-plane" && t["effect"] == "NoSchedule";
      }
    }
  }
  EXPECT_EQ(zones[name_ + "-m1"], "a");
  EXPECT_EQ(zones[name_ + "-m2"], "b");
  EXPECT_EQ(zones[name_ + "-m3"], "c");
  EXPECT_EQ(zones[name_ + "-w1"], "a");
  EXPECT_EQ(zones[name_ + "-w2"], "b");
  EXPECT_EQ(tainted, 3) << "masters carry the control-plane NoSchedule taint";
  EXPECT_TRUE(allReady());

  auto status = statusJson();
  ASSERT_TRUE(status.is_object());
  EXPECT_TRUE(status["healthy"].get<bool>()) << status.dump(2);
  EXPECT_EQ(status["etcd"].size(), 3u);
  EXPECT_EQ(status["vip"].size(), 5u);

  // The host's namespace gained nothing but a loopback listener.
  auto during = Footprint::take(dir_, name_);
  EXPECT_EQ(during.host_links, before_.host_links);
  EXPECT_EQ(during.netns.size(), before_.netns.size() + 6 + 0) << "5 nodes and the hub";

  auto down = rampartCli({"down", "--dir", dir_}, 60s);
  ASSERT_EQ(down.exit_code, 0) << down.output;
  auto after = Footprint::take(dir_, name_);
  EXPECT_EQ(after.netns, before_.netns);
  EXPECT_EQ(after.host_links, before_.host_links);
  EXPECT_EQ(after.nft_tables, before_.nft_tables);
  EXPECT_EQ(after.cgroups, before_.cgroups);
  EXPECT_TRUE(after.processes.empty()) << after.processes.front();
}

TEST_F(ClusterUpTest, AMastersDeathCostsNoApiRequestAndTheControllersActAgainWithinASecond) {
  up(3, 1);
  std::string holder;
  ASSERT_TRUE(eventually([&] { return !(holder = controllerHolder()).empty(); }, 10s));
  cluster::ApiProbe probe(probeFrom(name_ + "-w1"));
  ASSERT_TRUE(probe.start());
  std::this_thread::sleep_for(1s);
  auto killed_at = std::chrono::steady_clock::now();
  killNode(holder);
  std::string next;
  ASSERT_TRUE(eventually(
      [&] {
        next = controllerHolder();
        return !next.empty() && next != holder;
      },
      10s, 20ms));
  auto handover = std::chrono::steady_clock::now() - killed_at;
  std::this_thread::sleep_for(2s);
  probe.stop();
  auto summary = cluster::summarize(probe.between(killed_at - 1s, killed_at + 2s));
  EXPECT_GT(summary.requests, 5u);
  // Only a request the killed server already held may fail (no balancer can replay it).
  EXPECT_EQ(summary.failed, summary.in_flight) << summary.first_error;
  EXPECT_LE(summary.in_flight, 1u);
  // The bench measures these; the test holds them to a bound a loaded CI host keeps.
  EXPECT_LT(summary.longest_gap, 1500ms);
  EXPECT_LT(handover, 3s) << "the controllers' Lease moved from " << holder << " to " << next;
  std::printf("master %s killed: %zu requests, %zu failed (%s), longest gap %lld ms, controller "
              "%s after %lld ms\n",
              holder.c_str(), summary.requests, summary.failed, summary.first_error.c_str(),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(summary.longest_gap).count()),
              next.c_str(),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(handover).count()));

  // `rampart up` on the directory brings the dead master back.
  auto again = rampartCli({"up", "--dir", dir_});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(eventually([&] { return statusJson().value("healthy", false); }, 60s));
}

TEST_F(ClusterUpTest, UpOnAnExistingDirectoryBringsTheSameClusterBackWithItsData) {
  up(1, 1);
  auto create = kubectl({"create", "configmap", "kept", "--from-literal=k=v"});
  ASSERT_EQ(create.exit_code, 0) << create.output;
  auto down = rampartCli({"down", "--dir", dir_}, 60s);
  ASSERT_EQ(down.exit_code, 0) << down.output;
  EXPECT_NE(kubectl({"get", "configmap", "kept"}).exit_code, 0) << "the cluster is down";
  auto again = rampartCli({"up", "--dir", dir_});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("bringing back cluster " + name_), std::string::npos);
  auto got = kubectl({"get", "configmap", "kept", "-o", "jsonpath={.data.k}"});
  EXPECT_EQ(got.exit_code, 0) << got.output;
  EXPECT_EQ(got.output, "v");
}

TEST_F(ClusterUpTest, DownAfterAKilledUpLeavesNothingBehind) {
  made_ = true;
  auto pid = runtime::spawn(runtime::SpawnOptions{
      {RAMPART_BINARY, "up", "--dir", dir_, "--name", name_, "--masters", "1", "--workers", "1"},
      tmp_.path() + "/up.log"});
  ASSERT_TRUE(pid);
  // Half way: the etcd member runs, the rest is not started yet.
  bool midway = eventually(
      [&] {
        auto s = cluster::loadState(dir_);
        return s && !s->nodes.empty() && s->nodes[0].pids.count("etcd");
      },
      60s, 1ms);
  ::kill(*pid, SIGKILL);
  runtime::waitExit(*pid, 5s);
  ASSERT_TRUE(midway) << readWholeFile(tmp_.path() + "/up.log");
  auto down = rampartCli({"down", "--dir", dir_}, 60s);
  ASSERT_EQ(down.exit_code, 0) << down.output;
  auto after = Footprint::take(dir_, name_);
  EXPECT_EQ(after.netns, before_.netns);
  EXPECT_EQ(after.host_links, before_.host_links);
  EXPECT_EQ(after.cgroups, before_.cgroups);
  EXPECT_TRUE(after.processes.empty()) << after.processes.front();
}

TEST_F(ClusterUpTest, InvalidArgumentsChangeNothing) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--masters", "2"}, {"--workers", "-1"}, {"--zones", "a,,b"}, {"--name", "Bad_Name"}}) {
    std::vector<std::string> argv = {"up", "--dir", dir_, "--name", name_};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = rampartCli(argv, 30s);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/cluster.json")) << args[0];
  }
  auto after = Footprint::take(dir_, name_);
  EXPECT_EQ(after.netns, before_.netns);
}

TEST_F(ClusterUpTest, LosingTwoOfThreeMastersKeepsPodsRunningAndEverythingRecovers) {
  up(3, 1);
  auto apply = runtime::runCommand(
      {"sh", "-c",
       "kubectl --kubeconfig " + dir_ +
           "/kubeconfig create deployment sleeper --image=busybox --replicas=2 -- sleep 3600"},
      30s);
  ASSERT_EQ(apply.exit_code, 0) << apply.output;
  std::string worker = name_ + "-w1";
  ASSERT_TRUE(eventually([&] { return agent::runtime::nodePodProcesses(worker).size() >= 2; },
                         30s));
  auto pods_before = agent::runtime::nodePodProcesses(worker);
  std::string names_before;
  ASSERT_TRUE(eventually(
      [&] {
        auto pods = kubectl({"get", "pods", "-o",
                             "jsonpath={range .items[*]}{.metadata.name} {.status.phase}{\"\\n\"}{end}"});
        names_before = pods.output;
        // Two lines, both Running (runCommand drops the trailing newline).
        return std::count(names_before.begin(), names_before.end(), '\n') == 1 &&
               names_before.find(" Running\n") != std::string::npos &&
               names_before.ends_with(" Running");
      },
      60s, 200ms))
      << names_before;
  killNode(name_ + "-m1");
  killNode(name_ + "-m2");
  // No quorum: the API stops answering...
  cluster::ApiProbe probe(probeFrom(worker));
  ASSERT_TRUE(probe.start());
  std::this_thread::sleep_for(3s);
  probe.stop();
  auto summary = cluster::summarize(probe.samples());
  EXPECT_GT(summary.failed, 0u) << "with one etcd member of three the API cannot answer";
  // ...but what runs keeps running (static stability): the agent kills no pod for it.
  auto pods_during = agent::runtime::nodePodProcesses(worker);
  for (pid_t p : pods_before) {
    EXPECT_TRUE(std::find(pods_during.begin(), pods_during.end(), p) != pods_during.end())
        << "pod process " << p << " ended while the masters were gone";
  }
  auto again = rampartCli({"up", "--dir", dir_});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(eventually([&] { return statusJson().value("healthy", false); }, 60s));
  // The same two pods run on: none was replaced for the outage.
  std::string last;
  EXPECT_TRUE(eventually(
      [&] {
        auto pods = kubectl({"get", "pods", "-o",
                             "jsonpath={range .items[*]}{.metadata.name} {.status.phase}{\"\\n\"}{end}"});
        last = pods.output;
        return pods.exit_code == 0 && pods.output == names_before;
      },
      60s, 200ms))
      << "before:\n" << names_before << "after:\n" << last;
}

// A master is announced to etcd before its own member starts. When that member cannot start
// (here its data directory is a file), the cluster would keep a fourth member that is down —
// one more loss from losing etcd's quorum: `node add` removes it again and leaves nothing else.
TEST_F(ClusterUpTest, AMasterWhoseEtcdCannotStartIsTakenOutOfEtcdAgainAndNothingElseChanges) {
  up(3, 1);
  std::string next = name_ + "-m4";
  std::filesystem::create_directories(dir_ + "/nodes/" + next);
  std::ofstream(dir_ + "/nodes/" + next + "/etcd") << "not a directory\n";
  auto added = rampartCli({"node", "add", "--dir", dir_, "--role", "master", "--zone", "a"});
  EXPECT_NE(added.exit_code, 0) << added.output;
  EXPECT_NE(added.output.find("removed from etcd again"), std::string::npos) << added.output;
  json status;
  EXPECT_TRUE(eventually(
      [&] {
        status = statusJson();
        return status.is_object() && status.value("healthy", false);
      },
      30s, 200ms))
      << status.dump(2);
  EXPECT_EQ(status["etcd"].size(), 3u) << "the announced member is gone: " << status["etcd"].dump();
  EXPECT_EQ(status["nodes"].size(), 4u) << status["nodes"].dump();
  for (const auto& v : status["vip"]) {
    EXPECT_EQ(v["backends"].size(), 3u) << "no VIP sends to the failed master: " << v.dump();
  }
  auto namespaces = runtime::runCommand({"ip", "netns", "list"}, 10s);
  EXPECT_EQ(namespaces.output.find(next), std::string::npos) << namespaces.output;
}

TEST_F(ClusterUpTest, NodesJoinAndLeaveARunningClusterAndDrainsHonourDisruptionBudgets) {
  up(1, 1);
  for (const char* zone : {"b", "c"}) {
    auto added = rampartCli({"node", "add", "--dir", dir_, "--role", "master", "--zone", zone});
    ASSERT_EQ(added.exit_code, 0) << added.output;
  }
  auto worker = rampartCli({"node", "add", "--dir", dir_, "--zone", "b"});
  ASSERT_EQ(worker.exit_code, 0) << worker.output;
  // The balancers check a new API server before they call it UP (within a check interval).
  json status;
  EXPECT_TRUE(eventually(
      [&] {
        status = statusJson();
        return status.is_object() && status.value("healthy", false);
      },
      30s, 200ms))
      << status.dump(2);
  EXPECT_EQ(status["etcd"].size(), 3u) << "two members joined etcd";
  for (const auto& v : status["vip"]) {
    EXPECT_EQ(v["backends"].size(), 3u) << "every VIP knows every API server: " << v.dump();
  }

  // Two pods, one per worker, and a budget that allows no disruption.
  auto deploy = runtime::runCommand(
      {"sh", "-c",
       "kubectl --kubeconfig " + dir_ +
           "/kubeconfig create deployment app --image=x --replicas=2 -- sleep 3600 && "
           "kubectl --kubeconfig " + dir_ +
           "/kubeconfig create poddisruptionbudget app --selector=app=app --min-available=2"},
      30s);
  ASSERT_EQ(deploy.exit_code, 0) << deploy.output;
  ASSERT_TRUE(eventually(
      [&] {
        auto pods = kubectl({"get", "pods", "-l", "app=app", "-o",
                             "jsonpath={.items[*].status.phase}"});
        return pods.output == "Running Running";
      },
      60s, 200ms));
  std::string worker_name = name_ + "-w1";
  auto blocked = rampartCli({"node", "remove", "--dir", dir_, worker_name, "--drain-timeout", "3s"});
  EXPECT_NE(blocked.exit_code, 0) << blocked.output;
  EXPECT_NE(blocked.output.find("disruption budget"), std::string::npos) << blocked.output;
  EXPECT_EQ(kubectl({"get", "node", worker_name}).exit_code, 0) << "the node stays";

  ASSERT_EQ(kubectl({"delete", "poddisruptionbudget", "app"}).exit_code, 0);
  auto removed = rampartCli({"node", "remove", "--dir", dir_, worker_name});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_NE(kubectl({"get", "node", worker_name}).exit_code, 0);
  EXPECT_FALSE(cluster::netnsExists(worker_name));
  auto master = rampartCli({"node", "remove", "--dir", dir_, name_ + "-m1"});
  ASSERT_EQ(master.exit_code, 0) << master.output;
  EXPECT_TRUE(eventually([&] { return statusJson().value("healthy", false); }, 60s));
  status = statusJson();
  EXPECT_EQ(status["etcd"].size(), 2u);
  EXPECT_TRUE(eventually(
      [&] {
        auto pods = kubectl({"get", "pods", "-l", "app=app", "-o",
                             "jsonpath={.items[*].status.phase}"});
        return pods.output == "Running Running";
      },
      60s, 200ms))
      << "the drained pod runs again on the remaining worker";
}

// The pod network (issue 14) in a real cluster: every pod has an address from its node's range
// and reaches pods on other nodes and other nodes' addresses.
TEST_F(ClusterUpTest, PodsOnDifferentNodesReachEachOtherAndEveryNode) {
  up(1, 2);
  std::string manifest = tmp_.path() + "/web.yaml";
  std::ofstream(manifest) << "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
                             "spec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n"
                             "  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
                             "      topologySpreadConstraints:\n"
                             "      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, "
                             "whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: "
                             "{app: web}}}\n"
                             "      containers:\n      - name: web\n        image: web\n"
                             "        command: [\"" RAMPART_BINARY "\", demo, web, --port, \"8080\"]\n"
                             "        env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: "
                             "metadata.name}}}]\n"
                             "        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}\n";
  ASSERT_EQ(kubectl({"apply", "-f", manifest}).exit_code, 0);
  std::vector<std::array<std::string, 3>> pods;  // name, ip, node
  ASSERT_TRUE(eventually(
      [&] {
        auto out = kubectl({"get", "pods", "-l", "app=web", "-o",
                            "jsonpath={range .items[*]}{.metadata.name} {.status.podIP} "
                            "{.spec.nodeName} {.status.containerStatuses[0].ready}{\"\\n\"}{end}"});
        std::istringstream in(out.output);
        std::string name, ip, node, ready;
        pods.clear();
        int ready_count = 0;
        while (in >> name >> ip >> node >> ready) {
          pods.push_back({name, ip, node});
          ready_count += ready == "true";
        }
        return ready_count == 2;
      },
      60s, 200ms));
  ASSERT_NE(pods[0][2], pods[1][2]) << "spread over the two workers";
  for (int i = 0; i < 2; ++i) {
    auto node = state_.find(pods[i][2]);
    ASSERT_NE(node, nullptr);
    // The pod's address is in its node's range.
    EXPECT_EQ(pods[i][1].rfind("10.64." + std::to_string(node->spec.ordinal) + ".", 0), 0u)
        << pods[i][1] << " on " << pods[i][2];
  }
  // Pod to pod across nodes, through both nodes' routes (retried: a loaded host may take a
  // while to run the exec).
  runtime::CommandResult across;
  EXPECT_TRUE(eventually(
      [&] {
        across = kubectl({"exec", pods[0][0], "--", "curl", "-s", "--max-time", "3",
                          "http://" + pods[1][1] + ":8080/"});
        return across.output == "hello from " + pods[1][0];
      },
      30s, 500ms))
      << across.output;
  // Pod to another node's address (the master's API server port answers).
  runtime::CommandResult to_node;
  EXPECT_TRUE(eventually(
      [&] {
        to_node = kubectl({"exec", pods[1][0], "--", "curl", "-sk", "--max-time", "3", "-o",
                           "/dev/null", "-w", "%{http_code}",
                           "https://" + cluster::nodeAddress(1) + ":6443/readyz"});
        return to_node.output == "200";
      },
      30s, 500ms))
      << to_node.output;
}

}  // namespace
}  // namespace rampart

// How fast a lost node's pods run again elsewhere (issue 14): a live lab of etcd x3, one
// `rampart server`, one `rampart controller` and N real `rampart agent`s (root) in zones, and a
// Deployment whose pods are real processes. Each round picks the node holding the most pods,
// injects a fault, and measures from the fault to the moment the Deployment has all its replicas
// Ready again on the other nodes (polled through the API every 10 ms, CLOCK_MONOTONIC); then it
// heals the node and waits until the Deployment is settled before the next round.
//
//   node_failover [--rounds N] [--nodes 6] [--replicas 30] [--faults agent-kill,node-kill,node-freeze]
//                 [--grace 1s] [--dir D]
//
// Faults: agent-kill  SIGKILL the node's agent (its pods keep running: the harmless extra copies
//                     are removed when it returns);
//         node-kill   SIGKILL the agent and every process of the node's pods;
//         node-freeze SIGSTOP the agent and every process of the node's pods (SIGCONT to heal).
// Prints, per fault, the median, p99 and max as Markdown for docs/BENCHMARKS.md.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/duration.h"
#include "kube/http_client.h"
#include "kube/kubeconfig.h"
#include "lab/etcd_cluster.h"
#include "runtime/process.h"
#include "testing/agent_cgroups.h"

namespace {
using namespace rampart;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace asio = boost::asio;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename Pred>
bool waitFor(Pred pred, Duration limit, Duration step = 10ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(step);
  }
  return pred();
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    out.push_back(part);
  }
  return out;
}

struct Agent {
  std::string name;
  std::string zone;
  std::string root;
  std::string log;
  pid_t pid = 0;
};

// One synchronous API call on a private loop (the bench polls; it does not need a watch).
class Api {
 public:
  explicit Api(const std::string& kubeconfig) {
    auto config = kube::loadKubeConfig(kubeconfig);
    kube::HttpClientOptions options;
    options.request_timeout = 5s;
    auto client = kube::HttpClient::make(io_.get_executor(), *config, options);
    client_ = std::move(*client);
  }
  json get(const std::string& target) {
    io_.restart();
    auto call = [this, target]() -> asio::awaitable<json> {
      kube::Client& client = *client_;
      auto reply = co_await client.call("GET", target);
      co_return reply && reply->ok() ? reply->body : json();
    };
    auto f = asio::co_spawn(io_, call(), asio::use_future);
    io_.run();
    return f.get();
  }
  bool post(const std::string& target, const json& body) {
    io_.restart();
    auto call = [this, target, text = body.dump()]() -> asio::awaitable<bool> {
      kube::Client& client = *client_;
      auto reply = co_await client.call("POST", target, text);
      co_return reply && reply->ok();
    };
    auto f = asio::co_spawn(io_, call(), asio::use_future);
    io_.run();
    return f.get();
  }

 private:
  asio::io_context io_;
  std::unique_ptr<kube::HttpClient> client_;
};

bool ready(const json& pod) {
  if (pod["metadata"].contains("deletionTimestamp")) {
    return false;
  }
  for (const auto& c : pod["status"].value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") {
      return c.value("status", "") == "True";
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 10;
  int nodes = 6;
  int replicas = 30;
  std::string grace = "1s";
  std::string faults_flag = "agent-kill,node-kill,node-freeze";
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--rounds") {
      rounds = std::atoi(value().c_str());
    } else if (arg == "--nodes") {
      nodes = std::atoi(value().c_str());
    } else if (arg == "--replicas") {
      replicas = std::atoi(value().c_str());
    } else if (arg == "--grace") {
      grace = value();
    } else if (arg == "--faults") {
      faults_flag = value();
    } else if (arg == "--dir") {
      dir = value();
    } else {
      std::fprintf(stderr,
                   "usage: node_failover [--rounds N] [--nodes N] [--replicas N] [--grace D] "
                   "[--faults agent-kill,node-kill,node-freeze] [--dir D]\n");
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "node_failover runs real agents: run it as root\n");
    return 2;
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/rampart-node-failover-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ::chmod(dir.c_str(), 0755);
  }
  lab::EtcdClusterOptions options;
  options.members = 3;
  options.dir = dir + "/etcd";
  auto etcd = lab::EtcdCluster::start(options);
  if (!etcd) {
    std::fprintf(stderr, "etcd: %s\n", etcd.error().message.c_str());
    return 1;
  }
  std::ofstream(dir + "/tokens.csv") << "bench-token,admin,admin-uid,\"system:masters\"\n";
  std::string kubeconfig = dir + "/kubeconfig";
  std::string server_log = dir + "/server.log";
  auto server = runtime::spawn(runtime::SpawnOptions{
      {RAMPART_BINARY, "server", "--etcd-servers", (*etcd)->endpointList(), "--bind-address",
       "127.0.0.1", "--secure-port", "0", "--token-auth-file", dir + "/tokens.csv", "--cert-dir",
       dir + "/pki", "--write-kubeconfig", kubeconfig},
      server_log});
  if (!server || !waitFor([&] { return readFile(server_log).find("\"serving\"") != std::string::npos; }, 15s)) {
    std::fprintf(stderr, "rampart server did not start: %s\n", readFile(server_log).c_str());
    return 1;
  }
  std::string controller_log = dir + "/controller.log";
  auto controller = runtime::spawn(runtime::SpawnOptions{
      {RAMPART_BINARY, "controller", "--kubeconfig", kubeconfig, "--node-monitor-grace-period",
       grace, "--default-unreachable-toleration-seconds", "0",
       "--default-not-ready-toleration-seconds", "0"},
      controller_log});
  const std::vector<std::string> zones = {"a", "b", "c"};
  std::vector<Agent> agents;
  auto startAgent = [&](Agent& a) {
    auto pid = runtime::spawn(runtime::SpawnOptions{
        {RAMPART_BINARY, "agent", "--kubeconfig", kubeconfig, "--node-name", a.name, "--node-ip",
         "127.0.0.1", "--root-dir", a.root, "--port", "0", "--labels",
         "topology.kubernetes.io/zone=" + a.zone},
        a.log, "", true, true});
    a.pid = pid ? *pid : 0;
    return pid && waitFor([&] { return readFile(a.log).find("{\"event\":\"ready\"") != std::string::npos; }, 20s);
  };
  for (int i = 0; i < nodes; ++i) {
    Agent a;
    a.name = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(i);
    a.zone = zones[static_cast<size_t>(i) % zones.size()];
    a.root = dir + "/agent-" + std::to_string(i);
    a.log = dir + "/agent-" + std::to_string(i) + ".log";
    agents.push_back(a);
    if (!startAgent(agents.back())) {
      std::fprintf(stderr, "agent %s did not start: %s\n", a.name.c_str(), readFile(a.log).c_str());
      return 1;
    }
  }
  Api api(kubeconfig);
  json deployment = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", "bench"}, {"namespace", "default"}}},
      {"spec",
       {{"replicas", replicas},
        {"selector", {{"matchLabels", {{"app", "bench"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "bench"}}}}},
          {"spec",
           {{"terminationGracePeriodSeconds", 1},
            {"containers",
             json::array({{{"name", "main"},
                           {"image", "busybox"},
                           {"command", json::array({"/bin/sh", "-c", "exec sleep 86400"})}}})}}}}}}}};
  if (!api.post("/apis/apps/v1/namespaces/default/deployments", deployment)) {
    std::fprintf(stderr, "cannot create the Deployment\n");
    return 1;
  }
  // Ready pods by node, and whether anything is still terminating.
  auto census = [&](std::map<std::string, int>& by_node, int& terminating) {
    by_node.clear();
    terminating = 0;
    json pods = api.get("/api/v1/namespaces/default/pods?labelSelector=app%3Dbench");
    for (const auto& pod : pods.value("items", json::array())) {
      if (pod["metadata"].contains("deletionTimestamp")) {
        ++terminating;
      } else if (ready(pod)) {
        by_node[pod["spec"].value("nodeName", "")]++;
      }
    }
  };
  auto settled = [&] {
    std::map<std::string, int> by_node;
    int terminating = 0;
    census(by_node, terminating);
    int total = 0;
    for (auto& [node, n] : by_node) {
      total += n;
    }
    return total == replicas && terminating == 0;
  };
  if (!waitFor(settled, 120s, 50ms)) {
    std::fprintf(stderr, "the Deployment did not become Ready\n");
    return 1;
  }
  std::map<std::string, std::vector<double>> results;
  for (const auto& fault : split(faults_flag)) {
    for (int round = 0; round < rounds; ++round) {
      std::map<std::string, int> by_node;
      int terminating = 0;
      census(by_node, terminating);
      auto victim = std::max_element(agents.begin(), agents.end(), [&](const Agent& x, const Agent& y) {
        return by_node[x.name] < by_node[y.name];
      });
      int lost = by_node[victim->name];
      std::vector<pid_t> pods = testing::nodePodProcesses(victim->name);
      int64_t fault_at = monotonicNanos();
      if (fault == "agent-kill" || fault == "node-kill") {
        ::kill(victim->pid, SIGKILL);
        if (fault == "node-kill") {
          for (pid_t p : pods) {
            ::kill(p, SIGKILL);
          }
        }
        runtime::waitExit(victim->pid, 2s);
      } else if (fault == "node-freeze") {
        ::kill(victim->pid, SIGSTOP);
        for (pid_t p : pods) {
          ::kill(p, SIGSTOP);
        }
      } else {
        std::fprintf(stderr, "unknown fault %s\n", fault.c_str());
        return 2;
      }
      // Replaced: all replicas Ready on the other nodes.
      bool replaced = waitFor(
          [&] {
            std::map<std::string, int> now;
            int t = 0;
            census(now, t);
            int elsewhere = 0;
            for (auto& [node, n] : now) {
              elsewhere += node == victim->name ? 0 : n;
            }
            return elsewhere >= replicas;
          },
          60s);
      double ms = static_cast<double>(monotonicNanos() - fault_at) / 1e6;
      if (!replaced) {
        std::fprintf(stderr, "%s round %d: not replaced within 60 s\n", fault.c_str(), round);
        break;
      }
      results[fault].push_back(ms);
      std::fprintf(stderr, "%s round %d: %d pods of %s replaced in %.0f ms\n", fault.c_str(), round,
                   lost, victim->name.c_str(), ms);
      // Heal: the node comes back; its evicted pods are stopped and deleted by its agent.
      if (fault == "node-freeze") {
        for (pid_t p : pods) {
          ::kill(p, SIGCONT);
        }
        ::kill(victim->pid, SIGCONT);
      } else if (!startAgent(*victim)) {
        std::fprintf(stderr, "agent %s did not restart\n", victim->name.c_str());
        break;
      }
      if (!waitFor(settled, 120s, 50ms)) {
        std::fprintf(stderr, "not settled after round %d\n", round);
        break;
      }
      // Spread the replicas back: a rollout restart puts pods on the returned node again.
      std::this_thread::sleep_for(1s);
    }
  }
  for (auto& a : agents) {
    ::kill(a.pid, SIGCONT);
    runtime::terminate(a.pid, 2s);
    testing::killNodePods(a.name);
  }
  if (controller) {
    runtime::terminate(*controller, 2s);
  }
  runtime::terminate(*server, 2s);
  etcd->reset();
  if (own_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::printf("| fault (grace %s, %d nodes, %d replicas) | rounds | median | p99 | max |\n",
              grace.c_str(), nodes, replicas);
  std::printf("| --- | --- | --- | --- | --- |\n");
  for (auto& [fault, ms] : results) {
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) {
      return ms[std::min(ms.size() - 1, static_cast<size_t>(p / 100.0 * ms.size()))];
    };
    std::printf("| %s | %zu | %.0f ms | %.0f ms | %.0f ms |\n", fault.c_str(), ms.size(), pct(50),
                pct(99), ms.back());
  }
  return results.empty() ? 1 : 0;
}

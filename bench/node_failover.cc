// How fast a lost node's pods run again elsewhere (issue 14): a live lab of etcd x3, one
// `rampart server`, one `rampart controller` and N real `rampart agent`s (root) in zones, and a
// Deployment whose pods are real processes. Each round picks the node holding the most pods,
// injects a fault, and measures from the fault to the moment the Deployment has all its replicas
// Ready again on the other nodes (polled through the API every 10 ms, CLOCK_MONOTONIC); then it
// heals the node and waits until the Deployment is settled before the next round.
//
//   node_failover [--rounds N] [--nodes 6] [--replicas 30] [--faults agent-kill,node-kill,node-freeze]
//                 [--grace 1s]
//
// Faults: agent-kill  SIGKILL the node's agent (its pods keep running: the harmless extra copies
//                     are removed when it returns);
//         node-kill   SIGKILL the agent and every process of the node's pods;
//         node-freeze SIGSTOP the agent and every process of the node's pods (SIGCONT to heal);
//         sts-agent-kill SIGKILL the agent of the node running a one-replica StatefulSet's pod
//                     (`solo-0`, which must never run twice): measured until solo-0 is Ready
//                     on another node, after the node's fence.
// Prints, per fault, the median, p99 and max as Markdown for docs/BENCHMARKS.md.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "agent_lab.h"

namespace {
using namespace rampart;
using namespace std::chrono_literals;
using json = nlohmann::json;
using bench::waitFor;

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    out.push_back(part);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 10;
  int nodes = 6;
  int replicas = 30;
  std::string grace = "1s";
  std::string faults_flag = "agent-kill,node-kill,node-freeze,sts-agent-kill";
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
    } else {
      std::fprintf(stderr,
                   "usage: node_failover [--rounds N] [--nodes N] [--replicas N] [--grace D] "
                   "[--faults agent-kill,node-kill,node-freeze]\n");
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "node_failover runs real agents: run it as root\n");
    return 2;
  }
  bench::AgentLab lab("node-failover", nodes,
                      {"--node-monitor-grace-period", grace,
                       "--default-unreachable-toleration-seconds", "0",
                       "--default-not-ready-toleration-seconds", "0"});
  if (!lab.error().empty()) {
    std::fprintf(stderr, "%s\n", lab.error().c_str());
    return 1;
  }
  auto& agents = lab.agents();
  auto& api = lab.api();
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
  if (api.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment.dump()).is_null()) {
    std::fprintf(stderr, "cannot create the Deployment\n");
    return 1;
  }
  json solo = deployment;
  solo["kind"] = "StatefulSet";
  solo["metadata"]["name"] = "solo";
  solo["spec"]["replicas"] = 1;
  solo["spec"]["serviceName"] = "solo";
  solo["spec"]["selector"]["matchLabels"]["app"] = "solo";
  solo["spec"]["template"]["metadata"]["labels"]["app"] = "solo";
  if (api.call("POST", "/apis/apps/v1/namespaces/default/statefulsets", solo.dump()).is_null()) {
    std::fprintf(stderr, "cannot create the StatefulSet\n");
    return 1;
  }
  // solo-0's node and uid when it is Ready, else empty.
  auto soloReady = [&]() -> std::pair<std::string, std::string> {
    json pod = api.get("/api/v1/namespaces/default/pods/solo-0");
    if (pod.is_null() || !bench::podReady(pod)) {
      return {};
    }
    return {pod["spec"].value("nodeName", ""), pod["metadata"].value("uid", "")};
  };
  // Ready pods by node, and whether anything is still terminating.
  auto census = [&](std::map<std::string, int>& by_node, int& terminating) {
    by_node.clear();
    terminating = 0;
    json pods = api.get("/api/v1/namespaces/default/pods?labelSelector=app%3Dbench");
    for (const auto& pod : pods.value("items", json::array())) {
      if (pod["metadata"].contains("deletionTimestamp")) {
        ++terminating;
      } else if (bench::podReady(pod)) {
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
    return total == replicas && terminating == 0 && !soloReady().first.empty();
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
      auto victim = std::max_element(agents.begin(), agents.end(),
                                     [&](const bench::LabAgent& x, const bench::LabAgent& y) {
                                       return by_node[x.name] < by_node[y.name];
                                     });
      auto [solo_node, solo_uid] = soloReady();
      if (fault == "sts-agent-kill") {
        victim = std::find_if(agents.begin(), agents.end(),
                              [&](const bench::LabAgent& a) { return a.name == solo_node; });
        if (victim == agents.end()) {
          std::fprintf(stderr, "solo-0 is not Ready\n");
          break;
        }
      }
      int lost = by_node[victim->name];
      std::vector<pid_t> pods = testing::nodePodProcesses(victim->name);
      int64_t fault_at = monotonicNanos();
      if (fault == "agent-kill" || fault == "node-kill" || fault == "sts-agent-kill") {
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
      // Replaced: all replicas Ready on the other nodes (for the StatefulSet: solo-0, a new
      // object, Ready on another node).
      bool replaced = waitFor(
          [&] {
            if (fault == "sts-agent-kill") {
              auto [node, uid] = soloReady();
              return !node.empty() && node != victim->name && uid != solo_uid;
            }
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
        json pods = api.get("/api/v1/namespaces/default/pods");
        for (const auto& pod : pods.value("items", json::array())) {
          std::fprintf(stderr, "  %s node=%s phase=%s ready=%d deleting=%d\n",
                       pod["metadata"].value("name", "").c_str(),
                       pod["spec"].value("nodeName", "").c_str(),
                       pod["status"].value("phase", "").c_str(), bench::podReady(pod) ? 1 : 0,
                       pod["metadata"].contains("deletionTimestamp") ? 1 : 0);
        }
        for (const auto& a : agents) {
          std::string log = bench::readFile(a.log);
          std::fprintf(stderr, "agent %s log (end):\n%s\n", a.name.c_str(),
                       log.substr(log.size() > 3000 ? log.size() - 3000 : 0).c_str());
        }
        break;
      }
      results[fault].push_back(ms);
      std::fprintf(stderr, "%s round %d: %d pods of %s replaced in %.0f ms\n", fault.c_str(),
                   round, lost, victim->name.c_str(), ms);
      // Heal: the node comes back; its evicted pods are stopped and deleted by its agent.
      if (fault == "node-freeze") {
        for (pid_t p : pods) {
          ::kill(p, SIGCONT);
        }
        ::kill(victim->pid, SIGCONT);
      } else if (!lab.startAgent(*victim)) {
        std::fprintf(stderr, "agent %s did not restart\n", victim->name.c_str());
        break;
      }
      if (!waitFor(settled, 120s, 50ms)) {
        std::fprintf(stderr, "not settled after round %d\n", round);
        break;
      }
    }
  }
  std::printf("| fault (grace %s, %d nodes, %d replicas) | rounds | median | p99 | max |\n",
              grace.c_str(), nodes, replicas);
  std::printf("| --- | --- | --- | --- | --- |\n");
  for (auto& [fault, ms] : results) {
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) {
      return ms[std::min(ms.size() - 1, static_cast<size_t>(p / 100.0 * ms.size()))];
    };
    std::printf("| %s | %zu | %.0f ms | %.0f ms | %.0f ms |\n", fault.c_str(), ms.size(),
                pct(50), pct(99), ms.back());
  }
  return results.empty() ? 1 : 0;
}

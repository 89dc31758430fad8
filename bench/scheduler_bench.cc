// Scheduler throughput: pods placed per second by controller::ClusterState over hollow nodes,
// the scale (1,000 nodes in 3 zones, 100 Deployments × 100 replicas = 10,000 pods).
// Pure CPU: no API server, no binding writes. Prints a Markdown table of medians.
//
//   scheduler_bench [--nodes 1000] [--deployments 100] [--replicas 100] [--runs 5]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/scheduler.h"

namespace {
using json = nlohmann::json;
using rampart::controller::ClusterState;

json hollowNode(int i) {
  std::string name = "node-" + std::to_string(i);
  return {{"metadata",
           {{"name", name},
            {"labels",
             {{"kubernetes.io/hostname", name},
              {"topology.kubernetes.io/zone", "zone-" + std::to_string(i % 3)}}}}},
          {"spec", json::object()},
          {"status",
           {{"allocatable", {{"cpu", "32"}, {"memory", "128Gi"}, {"pods", "110"}}},
            {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

// `shape`: 0 plain (system default spreading only), 1 + zone spread DoNotSchedule,
// 2 + preferred hostname anti-affinity.
json replica(int deployment, int i, int shape) {
  std::string app = "app-" + std::to_string(deployment);
  json pod = {{"metadata",
               {{"name", app + "-" + std::to_string(i)},
                {"namespace", "default"},
                {"labels", {{"app", app}, {"pod-template-hash", "5d9c7"}}},
                {"ownerReferences",
                 {{{"kind", "ReplicaSet"},
                   {"name", app + "-5d9c7"},
                   {"uid", app},
                   {"controller", true}}}}}},
              {"spec",
               {{"containers",
                 {{{"name", "c"},
                   {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}}}}}}}}}};
  json selector = {{"matchLabels", {{"app", app}}}};
  if (shape >= 1) {
    pod["spec"]["topologySpreadConstraints"] = {{{"maxSkew", 1},
                                                 {"topologyKey", "topology.kubernetes.io/zone"},
                                                 {"whenUnsatisfiable", "DoNotSchedule"},
                                                 {"labelSelector", selector}}};
  }
  if (shape >= 2) {
    json term = {{"labelSelector", selector}, {"topologyKey", "kubernetes.io/hostname"}};
    pod["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] =
        json::array({{{"weight", 100}, {"podAffinityTerm", term}}});
  }
  return pod;
}

int flag(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) {
      return std::atoi(argv[i + 1]);
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  int nodes_n = flag(argc, argv, "--nodes", 1000);
  int deployments = flag(argc, argv, "--deployments", 100);
  int replicas = flag(argc, argv, "--replicas", 100);
  int runs = flag(argc, argv, "--runs", 5);
  std::vector<json> nodes;
  for (int i = 0; i < nodes_n; ++i) {
    nodes.push_back(hollowNode(i));
  }
  std::printf("| pods | nodes | pod shape | pods/s (median of %d) | min | max | unscheduled |\n",
              runs);
  std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
  const char* shapes[] = {"requests + default spreading", "+ zone spread DoNotSchedule",
                          "+ preferred hostname anti-affinity"};
  double rebuild_ms = 0;
  for (int shape = 0; shape < 3; ++shape) {
    // Round-robin over deployments, as their ReplicaSets create pods concurrently.
    std::vector<json> pending;
    for (int i = 0; i < replicas; ++i) {
      for (int d = 0; d < deployments; ++d) {
        pending.push_back(replica(d, i, shape));
      }
    }
    std::vector<double> rates;
    size_t unscheduled = 0;
    for (int r = 0; r < runs; ++r) {
      auto start = std::chrono::steady_clock::now();
      ClusterState state(nodes, {});
      unscheduled = 0;
      for (const auto& pod : pending) {
        unscheduled += state.schedule(pod).node.empty();
      }
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      rates.push_back(static_cast<double>(pending.size()) / seconds);
    }
    std::sort(rates.begin(), rates.end());
    if (shape == 0) {
      // Rebuilding the state from a full list (what a scheduler loop does after a failed bind).
      std::vector<json> bound;
      ClusterState state(nodes, {});
      for (const auto& pod : pending) {
        json b = pod;
        b["spec"]["nodeName"] = state.schedule(pod).node;
        bound.push_back(std::move(b));
      }
      auto start = std::chrono::steady_clock::now();
      ClusterState rebuilt(nodes, bound);
      rebuild_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
    }
    std::printf("| %zu | %d | %s | %.0f | %.0f | %.0f | %zu |\n", pending.size(), nodes_n,
                shapes[shape], rates[rates.size() / 2], rates.front(), rates.back(), unscheduled);
    std::fflush(stdout);
  }
  std::printf("\nRebuilding the state from %d nodes and %d bound pods: %.1f ms\n", nodes_n,
              deployments * replicas, rebuild_ms);
  return 0;
}

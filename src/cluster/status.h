#pragma once
// `rampart status --dir D`: how a `rampart up` cluster is, asked of its parts — nodes (role,
// zone, address, Ready as the API says, which of its processes run), etcd members (health,
// leader, raft term and index), API servers (/readyz), the acting controller (the holder of
// the controllers' Lease), and each node's VIP balancer's view of the API servers. A part that
// does not answer is shown as such with the reason; collecting never fails because a part is
// down, only when the directory holds no cluster.
//
// collectStatus() asks from a thread of its own that moves into the cluster's hub namespace to
// reach the nodes; the caller's thread stays where it is. Every request has a 1 s deadline.

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "cluster/state.h"

namespace rampart::cluster {

struct NodeStatus {
  std::string name;
  std::string role;
  std::string zone;
  std::string address;
  std::string ready = "Unknown";           // True | False | Unknown (the API's Ready condition)
  std::map<std::string, bool> processes;  // kind -> running
};

struct EtcdStatus {
  std::string node;
  bool healthy = false;
  bool leader = false;
  uint64_t raft_term = 0;
  uint64_t raft_index = 0;
  std::string error;
};

struct ApiStatus {
  std::string node;
  bool ready = false;
  std::string error;
};

struct VipBackend {
  std::string address;
  std::string state;  // UP | DOWN | UNKNOWN ...
};

struct VipStatus {
  std::string node;
  std::vector<VipBackend> backends;
  std::string error;
};

struct StatusReport {
  std::string name;
  std::string dir;
  uint16_t gateway_port = 0;
  bool gateway_running = false;
  std::vector<NodeStatus> nodes;
  std::vector<EtcdStatus> etcd;
  std::vector<ApiStatus> api;
  std::string controller;  // the Lease's holder; "" when unknown
  std::vector<VipStatus> vip;
};

Result<StatusReport> collectStatus(const std::string& dir);
std::string statusTable(const StatusReport& report);
std::string statusJson(const StatusReport& report);
// Every node Ready, every etcd member healthy with one leader, every API server ready, a
// controller acting, every VIP seeing every API server up.
bool healthy(const StatusReport& report);

}  // namespace rampart::cluster

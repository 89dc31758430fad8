#pragma once
// <dir>/cluster.json: what `rampart up` made, written before each thing is made (a journal), so
// `rampart down` can remove everything after a crash or a `kill -9` of `up` at any point.
// Namespaces are named from the cluster and node names alone, and every process of a node runs
// inside its namespace, so even a process whose PID was never recorded is found (by namespace)
// and ended.
//
//   {"version": 1, "name": "rampart", "zones": ["a","b","c"], "gateway_port": 41234,
//    "max_ordinal": 6, "created": "2026-12-06T23:50:00Z",
//    "nodes": [{"name": "rampart-m1", "role": "master", "zone": "a", "ordinal": 1,
//               "pids": {"etcd": 123, "server": 124, ...}}, ...]}
//
// Everything read back is validated (names, roles, zones, ordinals in range) before use, so a
// damaged or hand-edited file cannot name a namespace or a process that is not the cluster's.
// Blocking file I/O; not thread-safe.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "cluster/layout.h"

namespace rampart::cluster {

struct NodeState {
  NodeSpec spec;
  std::map<std::string, pid_t> pids;  // by process kind: etcd, server, controller, vip, agent
};

struct ClusterState {
  std::string name;
  std::vector<std::string> zones;
  uint16_t gateway_port = 0;  // the kubectl gateway's loopback port on the host
  pid_t gateway_pid = 0;
  int max_ordinal = 0;
  std::string created;  // RFC 3339
  std::vector<NodeState> nodes;

  const NodeState* find(const std::string& node) const;
  NodeState* find(const std::string& node);
  std::vector<NodeSpec> specs() const;
  std::vector<const NodeState*> masters() const;
};

std::string stateFile(const std::string& dir);  // <dir>/cluster.json

std::string renderState(const ClusterState& state);
// `origin` names the file in errors.
Result<ClusterState> parseState(const std::string& text, const std::string& origin);

// NotFound when the directory holds no cluster.
Result<ClusterState> loadState(const std::string& dir);
// Atomically (a temporary file renamed over the old one).
Result<void> saveState(const std::string& dir, const ClusterState& state);

}  // namespace rampart::cluster

#pragma once
// What runs on each node of a `rampart up` cluster, as pure data: the command line, log file and
// namespace of every process (layout.h for the addresses). `up` starts them; tests read them.
//   master: etcd (member <node>), rampart server (<addr>:6443), rampart controller (via the
//           VIP), the VIP balancer, rampart agent (tainted NoSchedule for ordinary workloads)
//   worker: the VIP balancer, rampart agent
//   the hub: the kubectl gateway, a balancer on the host's loopback (socket activation) over the
//           masters' API servers
// The VIP balancer is lvscare's pattern done by `rampart lb`: kApiVip:6443 on the node's
// loopback over every master's API server, checked on /readyz (HTTPS); a refused connect is
// retried on the next server at once (passive ejection), so a dead server never gets a new
// connection. Components of the node reach the API only through it.
// Thread-safe (values only).

#include <string>
#include <vector>

#include "cluster/state.h"

namespace rampart::cluster {

// Process kinds, in start order.
inline constexpr const char* kEtcd = "etcd";
inline constexpr const char* kServer = "server";
inline constexpr const char* kVip = "vip";
inline constexpr const char* kController = "controller";
inline constexpr const char* kAgent = "agent";

struct ProcessPlan {
  std::string kind;
  std::vector<std::string> argv;
  std::string log_file;
  std::string netns;  // the namespace's name
};

struct EtcdBootstrap {
  std::string initial_cluster;  // "m1=http://10.240.0.11:2380,..."
  bool existing = false;        // joining a running cluster (`node add`)
};

// "http://<addr>:2379" of every master, `first` (if a master) first: each API server prefers
// its own member.
std::string etcdEndpoints(const ClusterState& state, const std::string& first = "");
// The initial cluster of the masters' members.
std::string etcdInitialCluster(const std::vector<const NodeState*>& masters);

// The processes of `node`, in start order. `binary`: the rampart executable.
std::vector<ProcessPlan> nodeProcesses(const std::string& dir, const std::string& binary,
                                       const ClusterState& state, const NodeState& node,
                                       const EtcdBootstrap& etcd);
ProcessPlan gatewayProcess(const std::string& dir, const std::string& binary,
                           const ClusterState& state);

// `rampart lb` configs (YAML): the node's VIP balancer, the host's gateway.
std::string vipConfig(const ClusterState& state, const NodeSpec& node);
std::string gatewayConfig(const ClusterState& state);
std::string vipConfigFile(const std::string& dir, const std::string& node);
std::string gatewayConfigFile(const std::string& dir);

}  // namespace rampart::cluster

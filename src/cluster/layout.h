#pragma once
// The shape of a `rampart up` cluster, as pure data and pure functions: which nodes exist, their
// roles, zones, addresses, namespaces and pod ranges, and every name the lab gives the kernel.
// Nothing here touches the system; lab_network.h and processes.h act on it.
//
// One machine holds the whole cluster. Each node is a network namespace named after the node
// (`<cluster>-m1`, `<cluster>-w2`), joined by a veth pair to a bridge in the cluster's own hub
// namespace (`<cluster>-lab`); nothing is added to the host's namespace. Addresses:
//   node with ordinal n (1-based, never reused): 10.240.0.(10 + n)/24 on its eth0
//   the hub's bridge:                          10.240.0.254/24 (where `rampart up` and the
//                                                kubectl gateway speak from)
//   the node's pods:                           10.64.n.0/24 (the agent's --pod-cidr)
//   the API VIP, on every node's loopback:     10.103.97.2:6443 (Sealos's address)
// Fixed ports are safe because every node has a port space of its own.
//
// Thread-safe (values only).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace rampart::cluster {

enum class Role { Master, Worker };
std::string_view roleName(Role role);  // "master" | "worker"
Result<Role> parseRole(std::string_view text);

inline constexpr const char* kLabSubnet = "10.240.0.0/24";
inline constexpr const char* kHubAddress = "10.240.0.254";
inline constexpr int kLabPrefix = 24;
inline constexpr const char* kApiVip = "10.103.97.2";
inline constexpr uint16_t kApiPort = 6443;
inline constexpr uint16_t kEtcdClientPort = 2379;
inline constexpr uint16_t kEtcdPeerPort = 2380;
inline constexpr uint16_t kNodeApiPort = 10250;
inline constexpr uint16_t kVipAdminPort = 9090;         // the node's VIP balancer, on its address
inline constexpr uint16_t kControllerAdminPort = 10257;  // kube-controller-manager's port
inline constexpr uint16_t kServerAdminPort = 9091;
inline constexpr const char* kServiceRange = "10.96.0.0/12";
inline constexpr const char* kKubernetesServiceIp = "10.96.0.1";
// Ordinals 1..kMaxOrdinal fit the /24 below the hub's address and the 10.64.n.0/24 pod ranges.
inline constexpr int kMaxOrdinal = 200;

struct ClusterSpec {
  std::string name = "rampart";
  int masters = 3;
  int workers = 3;
  std::vector<std::string> zones{"a", "b", "c"};
};

// Names one node: its identity never changes once made.
struct NodeSpec {
  std::string name;  // "<cluster>-m1": the Node's name, its namespace's name
  Role role = Role::Worker;
  std::string zone;
  int ordinal = 0;  // 1-based over the cluster's lifetime
};

// The cluster's name: a DNS label of at most 20 characters, so that node names (+ "-m12") stay
// short and a pod's namespace name (`rampart-<node>_<uid>`) fits the file-name limit.
Result<void> validateClusterName(std::string_view name);
// Masters 1, 3, 5 or 7 (etcd wants an odd count; more than 7 only slows its writes); workers
// 0..100; zones: 1..10 distinct DNS labels.
Result<void> validateSpec(const ClusterSpec& spec);

// The first nodes of a cluster: masters spread over the zones first, then workers, each role's
// i-th node in zone i mod |zones|.
std::vector<NodeSpec> planNodes(const ClusterSpec& spec);
// One more node of `role` in `zone` (empty: the zone with the fewest nodes of that role, the
// first such in the spec's order), numbered after every node the cluster ever had
// (`max_ordinal`: the largest ordinal ever given, removed nodes included).
Result<NodeSpec> nextNode(const std::string& cluster, const std::vector<NodeSpec>& nodes,
                          int max_ordinal, Role role, const std::string& zone,
                          const std::vector<std::string>& zones);

std::string nodeAddress(int ordinal);   // "10.240.0.11"
std::string podCidr(int ordinal);       // "10.64.1.0/24"
std::string hubNamespace(std::string_view cluster);   // "<cluster>-lab"
std::string hubLinkName(int ordinal);   // the hub's end of node n's veth: "v1"
inline constexpr const char* kHubBridge = "br0";
inline constexpr const char* kNodeLink = "eth0";

}  // namespace rampart::cluster

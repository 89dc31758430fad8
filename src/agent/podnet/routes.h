#pragma once
// Routes between nodes: every other node's pod range goes via that node's InternalIP (the
// host-gw model of flannel and Calico without encapsulation: nodes must share an L2 segment,
// as the lab's nodes on their bridge do). desiredRoutes and planRoutes are pure;
// PodNetwork::syncRoutes (pod_network.h) lists the kernel's routes and applies the plan.
//
// Ownership: the routes Rampart installs carry the routing protocol number kRouteProtocol
// (`ip route ... proto 147`). Only routes with that mark are ever replaced or removed; a route
// for the same destination that someone else installed is left alone and reported as a
// conflict, never overwritten.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace rampart::agent::podnet {

// rtnetlink's rtm_protocol: 0-4 belong to the kernel, and the rest that iproute2's rt_protos
// names (gated 8 … eigrp 192, bird 12, zebra 11, babel 42, bgp 186, …) to routing daemons; 147
// is none of them.
inline constexpr int kRouteProtocol = 147;

struct NodeRoute {
  std::string pod_cidr;  // "10.64.2.0/24"
  std::string via;       // the node's InternalIP, "192.168.250.2"
  std::string node;      // for logs and reports only; not part of the route's identity
  bool operator==(const NodeRoute& other) const {
    return pod_cidr == other.pod_cidr && via == other.via;
  }
};

// One route per other node that has an IPv4 spec.podCIDR and a status.addresses entry of type
// InternalIP, ordered by pod CIDR. Nodes without either, with an IPv6 range, or named `self` are
// skipped; when two nodes claim one range, the first by name wins (a misconfiguration that the
// report shows as a missing route rather than a flapping one).
std::vector<NodeRoute> desiredRoutes(std::string_view self,
                                     const std::vector<nlohmann::json>& nodes);

struct RoutePlan {
  std::vector<NodeRoute> add;        // destination not routed yet
  std::vector<NodeRoute> replace;    // ours, but via another gateway
  std::vector<std::string> remove;   // ours, no longer wanted (pod CIDRs)
  std::vector<NodeRoute> conflicts;  // wanted, but a route we did not install holds it
  bool empty() const { return add.empty() && replace.empty() && remove.empty(); }
};

// installed: our routes now (pod CIDR → gateway); foreign: destinations of every other route in
// the table (e.g. the node's own connected ranges).
RoutePlan planRoutes(const std::vector<NodeRoute>& desired,
                     const std::map<std::string, std::string>& installed,
                     const std::set<std::string>& foreign);

}  // namespace rampart::agent::podnet

#pragma once
// PodNetwork: gives each pod of this node a network namespace of its own with an address from
// the node's pod range, behind a bridge on the node, and routes the other nodes' pod ranges
// (issue #14). It works in the network namespace of the thread that calls it: the host's in
// production, the node's namespace in the lab (`rampart up`, where every node is a namespace).
//
// Layout on a node with pod range 10.64.3.0/24:
//   bridge rampart0 10.64.3.1/24 (up), net.ipv4.ip_forward=1 (written for this namespace only)
//   per pod: namespace /run/netns/rampart-<node>_<uid>; veth rv<12 of uid> on the bridge, its
//   peer eth0 in the pod with 10.64.3.x/24, lo up, default via 10.64.3.1
//   per other node: <its pod range> via <its InternalIP> proto 147 (routes.h)
// The container runtime setns()es into PodNet::netns_path before exec; several containers of a
// pod share it. The namespace outlives the agent: a restarted agent finds its pods again with
// recover() (create() calls it), reading each pod's address back from its eth0.
//
// Kernel access: iproute2's `ip`, run as a child (runtime::runCommand), batched with
// `ip -batch -` so attach takes three commands (netns add, node side, pod side): about 16 ms in
// all here (runtime::waitExit polls a child every 5 ms), inside the 50 ms target. Why not libnl-route-3 or raw rtnetlink: `ip netns add`
// already does the namespace dance right (make /run/netns a shared mount, unshare, bind-mount
// /proc/self/ns/net) and `ip -n` the setns into a pod; iproute2 is on every node and in CI,
// libnl is not installed; and `ip` leaves one obvious line per step to reproduce by hand when
// something breaks. Errors carry the command and its output.
//
// Root: create() fails with PermissionDenied "rampart agent needs root (CAP_NET_ADMIN) to give
// pods their own network" without CAP_NET_ADMIN and CAP_SYS_ADMIN in the calling thread.
//
// Not thread-safe: one owner (the agent's pod worker) calls it. Every call blocks on child
// processes, each bounded by Config::command_timeout (monotonic): keep it off event loops.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/podnet/allocator.h"
#include "agent/podnet/routes.h"
#include "base/clock.h"
#include "base/result.h"

namespace rampart::agent::podnet {

struct Config {
  std::string node_name;  // required
  std::string pod_cidr;   // the Node's spec.podCIDR, "10.64.3.0/24"; IPv4, ≤ /30
  std::string bridge = "rampart0";
  std::string netns_prefix;                            // empty: defaultNetnsPrefix(node_name)
  Duration command_timeout = std::chrono::seconds(5);  // per `ip` command
};

struct PodNet {
  std::string pod_uid;
  std::string netns_name;  // "rampart-n1_0b6c…": `ip netns exec <netns_name> …` works
  std::string netns_path;  // "/run/netns/rampart-n1_0b6c…": what the runtime setns()es into
  std::string ip;          // "10.64.3.2"
  int prefix = 24;
  std::string gateway;    // "10.64.3.1"
  std::string host_veth;  // "rv0b6c…" on the bridge
};

struct RouteSyncReport {
  RoutePlan plan;  // what was applied; plan.conflicts were left alone
};

class PodNetwork {
 public:
  // Checks the capabilities, parses the range, sets up the bridge with the gateway address and
  // IP forwarding (idempotent: an existing bridge is reused), then recover()s.
  static Result<std::unique_ptr<PodNetwork>> create(Config config);

  // The pod's network, built if it does not exist yet (a pod already attached gets the same
  // answer again). Leftovers of an attach that failed half way are removed first; a failure now
  // removes what this call built and releases the address.
  Result<PodNet> attach(const std::string& pod_uid);
  // Removes the pod's veth and namespace and releases its address. Idempotent: a pod that is
  // unknown or already gone is ok. Stop the pod's processes first: a namespace still holding
  // processes lives on (unnamed) until they exit.
  Result<void> detach(const std::string& pod_uid);

  // Rebuilds the pods and the allocator from the namespaces under /run/netns with this node's
  // prefix, reading each one's eth0 address back; a known pod whose namespace is gone is
  // forgotten and its address released. A namespace without an address (an attach
  // that died half way) is removed; one whose address is outside the range or held twice is
  // kept but not adopted (a warning is logged). Returns the pods found.
  Result<std::vector<PodNet>> recover();

  // Makes this namespace's routes tagged kRouteProtocol equal `desired` (routes.h).
  Result<RouteSyncReport> syncRoutes(const std::vector<NodeRoute>& desired);

  std::optional<PodNet> find(const std::string& pod_uid) const;
  std::vector<PodNet> pods() const;
  const Config& config() const { return config_; }
  const Ipv4Cidr& range() const { return allocator_.range(); }

 private:
  PodNetwork(Config config, Ipv4Cidr range);
  Result<void> setUpNode();
  Result<void> removeLeftovers(const std::string& netns_name, const std::string& host_veth);
  PodNet describe(const std::string& pod_uid, Ipv4 ip) const;

  Config config_;
  IpAllocator allocator_;
  std::map<std::string, PodNet> pods_;  // by pod uid
};

}  // namespace rampart::agent::podnet

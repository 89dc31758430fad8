#pragma once
// The lab network of a `rampart up` cluster (layout.h): the hub namespace with its bridge, and
// one namespace per node joined to it by a veth pair. Made with iproute2 (`ip netns add`, `ip -n
// <ns> link add ...`), so the host's own namespace never gains an address, route or link: each
// veth is created inside the hub with its peer placed straight into the node's namespace.
//
// Every call is idempotent: what already exists is kept, so `rampart up` on an existing
// directory, or after a crash half way, finishes the job; what is missing is not an error when
// removing. Root only (CAP_NET_ADMIN, CAP_SYS_ADMIN). Blocking: each `ip` command is bounded
// (5 s).

#include <string>
#include <vector>

#include "base/result.h"
#include "cluster/layout.h"

namespace rampart::cluster {

// The namespace's path for runtime::SpawnOptions::netns: "/run/netns/<name>".
std::string netnsPath(const std::string& name);
bool netnsExists(const std::string& name);
// Names of every namespace under /run/netns.
std::vector<std::string> listNetns();

// The hub: its namespace, lo and the bridge with kHubAddress.
Result<void> createHub(const std::string& cluster);
// The node's namespace, its eth0 with the node's address (peer of hubLinkName on the bridge),
// lo up.
Result<void> createNodeNetwork(const std::string& cluster, const NodeSpec& node);
// Deletes the node's namespace (and with it its veth pair). Its processes must be gone first: a
// namespace still held by a process lives on, unnamed, until that process exits.
Result<void> removeNodeNetwork(const std::string& cluster, const NodeSpec& node);
Result<void> removeHub(const std::string& cluster);

// Processes inside a namespace (`ip netns pids`).
std::vector<pid_t> netnsPids(const std::string& name);

}  // namespace rampart::cluster

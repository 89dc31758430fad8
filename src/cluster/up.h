#pragma once
// The cluster commands' work: `rampart up` (make or bring back a whole HA cluster on this
// machine), `rampart down`, `rampart node add` and `rampart node remove`. Layout, names and
// addresses come from layout.h, the processes from processes.h, the journal from state.h.
//
// up: validates, writes the journal, makes the credentials, the lab network, then starts what
// is not already running — etcd members (waiting until each is healthy), API servers (until
// /readyz), the VIP balancers, controllers and agents, and the kubectl gateway — and waits until
// every node is Ready. On an existing directory it brings the same cluster back with its data:
// running processes are kept, stopped ones started.
// down: ends every process of the cluster (recorded PIDs, and every process inside the
// cluster's namespaces, so a crashed `up` leaves nothing behind), the pods of every node, the
// pods' and nodes' namespaces, the hub. The directory (data, credentials) stays unless `purge`.
//
// Progress goes to `progress`, one line per step. Root only. Blocking, bounded by the options'
// timeouts. Not thread-safe: a lock file in the directory keeps two commands off one cluster.

#include <functional>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "cluster/layout.h"
#include "cluster/state.h"

namespace rampart::cluster {

using Progress = std::function<void(const std::string&)>;

struct UpOptions {
  std::string dir;
  ClusterSpec spec;   // ignored when the directory already holds a cluster
  std::string binary;  // the rampart executable the nodes run
  Duration ready_timeout = std::chrono::seconds(90);
  Progress progress;
};

struct UpReport {
  ClusterState state;
  bool restarted = false;  // the directory held a cluster already
  int started = 0;         // processes started (the others were running)
  Duration took{};
  Duration ready_after_start{};  // from the last process started to every node Ready
};

Result<UpReport> up(const UpOptions& options);

struct DownOptions {
  std::string dir;
  bool purge = false;  // also remove the directory
  Progress progress;
};

Result<void> down(const DownOptions& options);

struct NodeAddOptions {
  std::string dir;
  Role role = Role::Worker;
  std::string zone;  // empty: the zone with the fewest nodes of that role
  std::string binary;
  Duration ready_timeout = std::chrono::seconds(60);
  Progress progress;
};

Result<NodeSpec> addNode(const NodeAddOptions& options);

struct NodeRemoveOptions {
  std::string dir;
  std::string node;
  Duration drain_timeout = std::chrono::seconds(60);
  Progress progress;
};

Result<void> removeNode(const NodeRemoveOptions& options);

// The absolute, normalised form of a --dir argument.
std::string absoluteDir(const std::string& dir);

}  // namespace rampart::cluster

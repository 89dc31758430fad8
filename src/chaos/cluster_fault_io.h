#pragma once
// Injects and heals a cluster fault (cluster_fault.h) on the machine: the thin I/O around the
// plan. Only the cluster's own processes are signalled: those inside the node's network
// namespace (`ip netns pids <node>`) and the node's pods (found by the agent's cgroups,
// agent/runtime/node_cleanup.h); an etcd-member fault checks the recorded PID is an `etcd`
// inside that node's namespace before it signals it.
//
//   kill       SIGKILL every process of each node and its pods. Heal: `rampart up --dir D`,
//              which starts what is not running (the node "returns" with its data).
//   freeze     SIGSTOP the same PIDs, remembered. Heal: SIGCONT each (and any process of the
//              node still stopped), so no path leaves a process frozen.
//   partition  `ip -n <cluster>-lab link set v<n> down`: the hub's end of the node's veth, so
//              the node's eth0 loses its carrier and nothing crosses either way; a cable pull.
//              Link-down suffices here (no nftables): every path off a node goes through that one
//              veth, and what stays inside the node (its VIP to its own API server, its pods)
//              keeps working, as on a real partitioned machine. Heal: link up (the bridge runs
//              without STP, so the port forwards at once).
//   etcd-member  SIGKILL the etcd PID only. Heal: `rampart up --dir D`.
//
// Root only. Blocking: each `ip` command is bounded (5 s), `rampart up` by `heal_timeout`. Not
// thread-safe (one fault at a time).

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "chaos/cluster_fault.h"

namespace rampart::chaos {

struct Injected {
  std::vector<pid_t> signalled;  // the PIDs the fault sent its signal to
};

Result<Injected> injectFault(const FaultPlan& plan);

struct HealOptions {
  std::string dir;
  std::string binary;  // the rampart executable for `rampart up`
  Duration timeout = std::chrono::seconds(120);
};

// Undoes `plan` (see above). Heals as much as it can before returning the first error.
Result<void> healFault(const FaultPlan& plan, const Injected& injected, const HealOptions& options);

}  // namespace rampart::chaos

#pragma once
// Removing what a node's agent left behind once the node itself goes (`rampart down`, `node
// remove`, tests and benches that fault a node). An agent leaves its pods running when it
// stops, so that a restarted agent re-adopts them; when the node is being removed, whoever
// removes it ends them here:
//   - the pods' processes, found through the cgroups the runtime makes
//     (/sys/fs/cgroup/<controller>/rampart-<node>/pod<uid>/<container>), are SIGKILLed (after
//     SIGCONT, in case they were frozen) and the cgroup trees removed;
//   - the pods' network namespaces (/run/netns/rampart-<node>_<uid>, podnet/names.h) deleted.
// Only the node's own cgroups and namespaces are touched: the prefix ends in "_" (namespaces)
// or is a whole directory name (cgroups), so node "n1" never matches node "n1-x".
// Blocking (bounded: ≤ 1 s waiting for cgroups to empty, 5 s per `ip` command). Root only.

#include <sys/types.h>

#include <string>
#include <vector>

namespace rampart::agent::runtime {

std::vector<pid_t> nodePodProcesses(const std::string& node);
void signalNodePods(const std::string& node, int signal);
// SIGKILLs every process of the node's pods and removes its cgroup trees.
void killNodePods(const std::string& node);
// Deletes the node's pod network namespaces; returns how many.
int removeNodePodNetworks(const std::string& node);

}  // namespace rampart::agent::runtime

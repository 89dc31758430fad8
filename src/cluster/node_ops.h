#pragma once
// The steps the cluster commands (up.h: up, down, node add, node remove) share: starting a
// node's processes in its namespace, knowing whether a recorded PID is still ours, waiting for
// etcd, API servers, VIP balancers and nodes, and tearing a node down. Internal to
// src/cluster. Blocking, every wait bounded by its argument. Root only.

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "cluster/http_call.h"
#include "cluster/processes.h"
#include "cluster/state.h"
#include "cluster/up.h"
#include "net/endpoint.h"

namespace rampart::cluster {

void say(const Progress& progress, const std::string& line);
std::string nowRfc3339();
std::string seconds(Duration d);  // "1.2 s"

// Keeps two cluster commands off one directory: flock on <dir>/.lock, released with the
// process (also when it is killed).
class DirLock {
 public:
  static Result<DirLock> take(const std::string& dir);
  DirLock(DirLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  DirLock& operator=(DirLock&&) = delete;
  ~DirLock();

 private:
  DirLock() = default;
  int fd_ = -1;
};

// A recorded PID still names a process of this cluster: alive, and its command line names the
// cluster's directory (every process's config, data or log path is under it), so a recycled PID
// is never taken for ours.
bool ours(pid_t pid, const std::string& dir);
// Moves the calling thread into the namespace (call before any other thread exists to move the
// whole process).
Result<void> enterNetns(const std::string& name);
// A listening socket on 127.0.0.1:port (0: any free port) in the caller's namespace.
Result<int> loopbackListener(uint16_t port);
Result<uint16_t> freeLoopbackPort();
// Atomically (temporary file, rename).
Result<void> writeFile(const std::string& path, const std::string& text);
// Every node's VIP config and the gateway's, from the current masters.
Result<void> writeBalancerConfigs(const std::string& dir, const ClusterState& state);
std::string tail(const std::string& path, size_t bytes);
// Starts the process in its namespace, in a session of its own, outliving the caller.
Result<pid_t> startProcess(const ProcessPlan& plan, const std::vector<int>& listen_fds = {});
net::Endpoint apiEndpoint(const NodeSpec& node);

Result<void> waitApiReady(const std::string& dir, const NodeSpec& node, Duration timeout);
// The node's VIP balancer has applied its config (the VIP is on the node's loopback and
// listened on) once its admin server answers /status.
Result<void> waitVipServing(const NodeSpec& node, Duration timeout);
// Nodes (by name) whose Ready condition is True, as the first answering master says.
Result<std::set<std::string>> readyNodes(const std::string& dir, const ClusterState& state,
                                         const std::string& token);
// Waits for the nodes named in `only` (empty: every node of the state).
Result<void> waitNodesReady(const std::string& dir, const ClusterState& state,
                            const std::string& token, Duration timeout, const Progress& progress,
                            const std::vector<std::string>& only = {});
// A call to the API through the first master that answers (a status < 500), from a namespace
// that reaches the masters (the hub). `call.tls.ca` and `call.bearer` are set here.
Result<net::http::Response> apiCall(const std::string& dir, const ClusterState& state,
                                    const std::string& token, HttpCall call,
                                    const std::string& skip = "");
// kubectl drain: cordon, then evict every pod of the node through the Eviction API (a 429 from
// a disruption budget is retried every 200 ms) until none is left or `timeout` passes.
Result<void> drainNode(const std::string& dir, const ClusterState& state, const std::string& token,
                       const std::string& node, Duration timeout, const Progress& progress);
Result<void> uncordonNode(const std::string& dir, const ClusterState& state,
                          const std::string& token, const std::string& node);
// SIGTERM, then SIGKILL after `grace`, to every process in the namespace and every recorded
// PID that is still ours.
void endNamespaceProcesses(const std::string& netns, const std::vector<pid_t>& recorded,
                           const std::string& dir, Duration grace);
// Every process, pod and namespace of one node.
Result<void> tearDownNode(const std::string& dir, const std::string& cluster,
                          const NodeState& node, const Progress& progress);

}  // namespace rampart::cluster

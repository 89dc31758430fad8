#pragma once
// Agent: `rampart agent` on a real node — Rampart's kubelet. It registers the node, renews the
// node's Lease, and runs the pods bound to it as supervised processes:
//   node      registered (or brought up to date) at start; its conditions refreshed every
//             status_interval; its Lease renewed every renew_interval (the node lifecycle
//             controller's contract: a Lease older than its duration marks the node lost).
//   pods      one watch of the pods with spec.nodeName = this node; each pod has a worker
//             (the kubelet's pod workers: one sync at a time per pod, pods in parallel) that
//             observes the runtime and the probes, asks syncPod() (pod_sync.h) what to do, does
//             it — network, volumes, start, kill — and writes the status the decision computed.
//   caches    ConfigMaps, Secrets and Services (all namespaces) for the containers' environment
//             and volumes; a change there syncs the pods of that namespace again.
//   restarts  the kubelet's back-off: the first restart of a crashing container is immediate,
//             then 10 s, 20 s, 40 s … 300 s (runtime/backoff.h; the initial delay is
//             configurable), reset after 10 minutes of clean running.
//   routes    with a pod network, a route to every other node's pod range via its InternalIP,
//             kept in step with the Nodes (podnet/routes.h), checked every second;
//   fencing   a pod that must not run twice (not a ReplicaSet's, or annotated
//             rampart.io/unique=true) runs under the node's fence: each renewal that reached the
//             API extends a deadline its shim enforces by itself (runtime/fence.h), so it is
//             dead on this node before the controller may start it elsewhere, even when this
//             agent was killed or cut off;
//   services  with a ServiceProxy (--services), every Service's ClusterIP (and NodePort) is
//             served on this node (kube-proxy's job): Services and Endpoints are watched, and
//             50 ms after a change settles the plan (services/service_plan.h) goes to the proxy,
//             which applies it on its own thread (services/service_proxy.h); unchanged plans are
//             not applied again, and the plan is sent again every 10 s so a failed apply is
//             retried. stop() stops the proxy: the ClusterIPs leave the loopback.
//   claims    a pod's persistentVolumeClaim volume is the claim's directory under
//             <root_dir>/volumes (claim_volumes.h); it outlives the pod, and every second the
//             directories whose claim is gone (and that no pod here names) are removed.
//   recovery  an agent that restarts finds its containers again (runtime recover(), pod
//             networks by their namespaces) and does not restart them; a pod it finds whose
//             object is gone is stopped and removed.
// Blocking work (pod network set-up runs `ip`) runs on a private thread, never on the loop.
// Use from the one event loop that owns the client; stop() ends run() within a second.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "agent/node/node_info.h"
#include "agent/node/pod_config.h"
#include "agent/node/pod_sync.h"
#include "agent/nodeapi/node_api_server.h"
#include "agent/podnet/pod_network.h"
#include "agent/probe/manager.h"
#include "agent/runtime/backoff.h"
#include "agent/runtime/runtime.h"
#include "agent/services/service_plan.h"
#include "kube/client.h"
#include "kube/informer.h"

namespace rampart::agent::services {
class ServiceProxy;
}

namespace rampart::agent::node {

struct AgentOptions {
  NodeConfig node;
  std::string root_dir = "/var/lib/rampart/agent";  // pods/<uid>/volumes/...
  Duration renew_interval = std::chrono::milliseconds(200);
  Duration lease_duration = std::chrono::milliseconds(800);
  // The controller's --node-fence-after: after a renewal sent at t, the containers of pods that
  // must not run twice are killed on this node at t + fence_after − kFenceMargin unless another
  // renewal got through (runtime/fence.h).
  Duration fence_after = std::chrono::seconds(1);
  Duration status_interval = std::chrono::seconds(10);
  Duration resync_interval = std::chrono::seconds(1);  // every pod is synced at least this often
  runtime::BackOffPolicy backoff;
  // Services (with a proxy): node_ip "" means the node's InternalIP.
  services::ServicePlanOptions services;
  Duration services_debounce = std::chrono::milliseconds(50);
  // The Lease's own client (null: the agent's client). Its requests end well before a renewal
  // would be useless, so a connection held by a stalled API server (frozen, cut off: the
  // kernel accepted, nobody answers) is dropped and the next renewal goes through the VIP,
  // which has ejected that server, instead of every renewal waiting behind it.
  kube::Client* lease_client = nullptr;
};

struct AgentStats {
  int64_t leases_renewed = 0;
  int64_t lease_failures = 0;
  int64_t syncs = 0;
  int64_t containers_started = 0;
  int64_t containers_killed = 0;
  int64_t status_writes = 0;
  int64_t status_conflicts = 0;
  int64_t pods_deleted = 0;
};

class Agent {
 public:
  using WallClock = std::function<api::WallTime()>;
  // `network` may be null (no --pod-cidr): then every pod shares the node's network namespace
  // and address, as hostNetwork pods do. `proxy` may be null (no --services): then Services are
  // not served on this node; else it must outlive the agent.
  Agent(boost::asio::any_io_executor executor, kube::Client& client, const Clock& clock,
        WallClock wall_clock, AgentOptions options, runtime::Runtime& runtime,
        podnet::PodNetwork* network, services::ServiceProxy* proxy = nullptr);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Recovers the runtime's containers and registers the node and its Lease. Fails naming the
  // API's answer when the node cannot be registered.
  boost::asio::awaitable<Result<void>> start();
  // Runs until stop().
  boost::asio::awaitable<void> run();
  void stop();

  // For the node API (logs, exec): the container of a pod on this node.
  std::optional<nodeapi::ContainerRef> lookup(const std::string& ns, const std::string& pod,
                                              const std::string& container) const;

  const AgentStats& stats() const { return stats_; }

 private:
  struct PodState {
    std::string key;  // namespace/name
    std::optional<podnet::PodNet> net;
    bool volumes_ready = false;
    std::map<std::string, runtime::ContainerState> previous;  // the attempt before the current
    std::map<std::string, runtime::CrashLoopBackOff> backoff;
    std::map<std::string, int> exit_seen;  // the attempt whose exit the back-off has counted
    std::map<std::string, ContainerHealth> health;
  };
  struct Worker {
    bool busy = false;
    bool dirty = false;
  };

  boost::asio::awaitable<Result<void>> registerNode();
  boost::asio::awaitable<void> leaseLoop();
  boost::asio::awaitable<void> statusLoop();
  boost::asio::awaitable<void> resyncLoop();
  boost::asio::awaitable<void> claimLoop();
  boost::asio::awaitable<void> routeLoop();
  boost::asio::awaitable<void> serviceLoop();
  void markServicesDirty();
  boost::asio::awaitable<void> runInformer(kube::Informer& informer);
  boost::asio::awaitable<void> podWorker(std::string key);
  boost::asio::awaitable<void> syncOne(const std::string& key);
  boost::asio::awaitable<void> cleanUp(std::string uid, Duration grace);
  boost::asio::awaitable<Result<void>> ensureNetwork(const nlohmann::json& pod, PodState& state);
  Result<void> writeVolumes(const std::vector<VolumePlan>& volumes);
  boost::asio::awaitable<void> startContainer(nlohmann::json pod, StartContainer start,
                                              ResolvedContainer resolved,
                                              std::string pod_ip);
  boost::asio::awaitable<void> killContainer(std::string uid, KillContainer kill);
  boost::asio::awaitable<void> writeStatus(nlohmann::json pod, nlohmann::json status);
  boost::asio::awaitable<void> finalDelete(nlohmann::json pod);
  boost::asio::awaitable<void> sleepFor(Duration d);

  void markDirty(const std::string& key);
  void markNamespaceDirty(const std::string& ns);
  void markAllDirty();
  PodObjects objectsFor(const std::string& ns) const;
  std::string podDir(const std::string& uid) const;
  std::string hostIp() const { return options_.node.internal_ip; }
  probe::ExecFn execIn(pid_t target);
  // After a renewal sent at `sent` reached the API: the fence moves to sent + fence_after − margin.
  void extendFence(TimePoint sent);
  std::string fenceFile() const { return options_.root_dir + "/fence-deadline"; }

  boost::asio::any_io_executor executor_;
  kube::Client& client_;
  const Clock& clock_;
  WallClock wall_clock_;
  AgentOptions options_;
  runtime::Runtime& runtime_;
  podnet::PodNetwork* network_;
  AgentStats stats_;
  bool stopping_ = false;

  std::unique_ptr<kube::Informer> pods_;
  std::unique_ptr<kube::Informer> config_maps_;
  std::unique_ptr<kube::Informer> secrets_;
  std::unique_ptr<kube::Informer> services_;
  std::unique_ptr<kube::Informer> nodes_;  // other nodes' pod ranges, for routes
  std::unique_ptr<kube::Informer> claims_;  // PersistentVolumeClaims, for their directories
  std::unique_ptr<kube::Informer> endpoints_;  // with a proxy only
  services::ServiceProxy* proxy_;
  bool services_dirty_ = false;
  std::vector<std::string> services_skipped_;  // as last logged
  std::unique_ptr<boost::asio::steady_timer> services_wake_;  // cancelled on a change
  std::unique_ptr<probe::ProbeManager> probes_;
  boost::asio::thread_pool blocking_{1};

  std::map<std::string, PodState> pods_by_uid_;
  std::map<std::string, std::string> uid_of_;  // pod key → uid of the pod the agent runs there
  std::map<std::string, Worker> workers_;
  nlohmann::json node_conditions_ = nlohmann::json::array();
  std::vector<podnet::NodeRoute> routes_;  // as last applied
  int running_ = 0;
  std::unique_ptr<boost::asio::steady_timer> wake_;  // cancelled by stop()
};

}  // namespace rampart::agent::node

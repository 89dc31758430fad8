#pragma once
// The reconcilers `rampart controller` runs: each wraps one pure decision (replicaset.h,
// disruption.h, ...) with the informers it reads, the writes it makes through the manager's
// fenced client, and the Events it records. One file per controller (run_<name>.cc).
// knownControllers() lists the names accepted by --controllers.

#include <memory>
#include <string>
#include <vector>

#include "controller/db/objects.h"
#include "controller/manager.h"
#include "controller/node_lifecycle.h"
#include "controller/taints.h"

namespace rampart::controller {

struct ReconcilerOptions {
  int replicaset_burst = 500;  // pods created or deleted per ReplicaSet decision (Kubernetes')
  NodeLifecycleConfig node_lifecycle;  // --node-monitor-grace-period, --node-fence-after
  TaintManagerConfig taint_manager;    // --default-not-ready/unreachable-toleration-seconds
  db::DbSettings database;             // --database-* (database members' etcd access)
};

std::unique_ptr<Reconciler> makeReplicaSetReconciler(ControllerContext& context, Enqueue enqueue,
                                                     const ReconcilerOptions& options = {});
std::unique_ptr<Reconciler> makeDisruptionReconciler(ControllerContext& context, Enqueue enqueue);
std::unique_ptr<Reconciler> makeSchedulerReconciler(ControllerContext& context, Enqueue enqueue);
std::unique_ptr<Reconciler> makeEndpointsReconciler(ControllerContext& context, Enqueue enqueue);
std::unique_ptr<Reconciler> makeDeploymentReconciler(ControllerContext& context, Enqueue enqueue);
std::unique_ptr<Reconciler> makeGarbageReconciler(ControllerContext& context, Enqueue enqueue);
std::unique_ptr<Reconciler> makeStatefulSetReconciler(ControllerContext& context, Enqueue enqueue);
std::unique_ptr<Reconciler> makeClaimProtectionReconciler(ControllerContext& context,
                                                          Enqueue enqueue);
std::unique_ptr<Reconciler> makeNodeLifecycleReconciler(ControllerContext& context,
                                                        Enqueue enqueue,
                                                        const ReconcilerOptions& options);

// PostgresCluster or RedisCluster (rampart.io/v1): controller/db/decide.h.
std::unique_ptr<Reconciler> makeDatabaseReconciler(ControllerContext& context, Enqueue enqueue,
                                                   const ReconcilerOptions& options,
                                                   db::Engine engine);

struct KnownController {
  std::string name;  // as --controllers names it (kube-controller-manager's names)
  bool enabled_by_default = true;
};
const std::vector<KnownController>& knownControllers();
// Registers the named controllers with the manager.
Result<void> addControllers(Manager& manager, const std::vector<std::string>& names,
                            const ReconcilerOptions& options = {});

// --controllers as kube-controller-manager reads it: "*" (the defaults), "name" (enable),
// "-name" (disable), comma-separated. InvalidArgument names an unknown controller.
Result<std::vector<std::string>> selectControllers(const std::vector<std::string>& flags);

}  // namespace rampart::controller

#pragma once
// The ReplicaSet controller's decision, as a pure function of what it observed: the ReplicaSet
// and the pods it owns (by ownerReference, matching its selector) → how many pods to create,
// which to delete, and the status to report. Kubernetes' rules:
//   - active pods are those not being deleted and not Succeeded/Failed;
//   - too few: create the difference (at most `burst` per decision, so a 0 → 10,000 scale-up is
//     spread over decisions and never outruns what was observed);
//   - too many: delete the difference, the least valuable first (unscheduled before scheduled,
//     Pending before Running, not ready before ready, ready for less time, more restarts, newest);
//   - status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready for at
//     least minReadySeconds), observedGeneration.
// Never create and delete in one decision; the caller writes, observes, and decides again.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"

namespace rampart::controller {

struct ReplicaSetDecision {
  int create = 0;
  std::vector<std::string> delete_names;  // in the order to delete
  nlohmann::json status;                  // the ReplicaSet's new status
  std::string reason;                     // for the log and events
};

// Whether a pod counts as a live replica.
bool isActivePod(const nlohmann::json& pod);
// Ready condition true; `available` also requires it to have held for min_ready_seconds.
bool isPodReady(const nlohmann::json& pod);
bool isPodAvailable(const nlohmann::json& pod, int64_t min_ready_seconds, api::WallTime now);

ReplicaSetDecision decideReplicaSet(const nlohmann::json& replica_set,
                                    const std::vector<nlohmann::json>& owned_pods,
                                    api::WallTime now, int burst = 500);

}  // namespace rampart::controller

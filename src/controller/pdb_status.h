#pragma once
// The disruption controller's decision for one PodDisruptionBudget: its status from the pods
// its selector matches (disruption.h holds the arithmetic), as kube-controller-manager writes it
// and as the eviction subresource and `kubectl get pdb` read it:
//   expectedPods        minAvailable as a number: the number of matched pods; otherwise the sum
//                       of spec.replicas of the matched pods' controllers (each counted once);
//                       a matched pod without a controller then makes the budget fail safe
//                       (disruptionsAllowed 0, condition reason SyncFailed)
//   currentHealthy      Ready pods not being deleted and not in disruptedPods
//   disruptedPods       evictions the API granted (pod name → time), dropped once the pod is
//                       being deleted or gone, or 2 minutes after the eviction
//   disruptionsAllowed, desiredHealthy, observedGeneration
//   condition DisruptionAllowed: True/SufficientPods, or False/InsufficientPods.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"

namespace rampart::controller {

// `controller_replicas`: controller uid → its spec.replicas, for the controllers that own
// (ownerReference controller=true) the matched pods.
nlohmann::json decidePdbStatus(const nlohmann::json& pdb,
                               const std::vector<nlohmann::json>& matched_pods,
                               const std::map<std::string, int64_t>& controller_replicas,
                               api::WallTime now);

}  // namespace rampart::controller

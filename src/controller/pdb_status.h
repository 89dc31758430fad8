#pragma once
// The disruption controller's decision for one PodDisruptionBudget: its status from the pods
// its selector matches (disruption.h holds the arithmetic), as kube-controller-manager 1.32
// writes it and as the eviction subresource and `kubectl get pdb` read it, plus the events to
// record. Pure: the caller resolves each pod's controllerRef to a scale beforehand.
//   expectedPods        minAvailable as a number: the number of matched pods; otherwise (a
//                       percentage, or maxUnavailable) the sum of the scales of the matched pods'
//                       controllers, each counted once. A pod without a controllerRef is left
//                       out of that sum and reported by an UnmanagedPods warning (Kubernetes
//                       does the same rather than hot-looping). A controllerRef that resolves to
//                       nothing ("found no controllers for pod") or to an object without a scale
//                       subresource makes the budget fail safe: disruptionsAllowed 0, condition
//                       False/SyncFailed with the error, the other fields as they were, and a
//                       CalculateExpectedPodCountFailed warning.
//   currentHealthy      Ready pods not being deleted and not in disruptedPods
//   disruptedPods       evictions the API granted (pod name → time), dropped once the pod is
//                       being deleted or gone, or 2 minutes after the eviction
//   disruptionsAllowed, desiredHealthy, observedGeneration
//   condition DisruptionAllowed: True/SufficientPods, or False/InsufficientPods.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"
#include "base/result.h"

namespace rampart::controller {

// The scale behind one controllerRef: the scaled object's uid (a ReplicaSet owned by a
// Deployment resolves to the Deployment, so its ReplicaSets count once) and its replicas.
struct ControllerScale {
  std::string uid;
  int64_t replicas = 0;
};

// controllerRef uid → what the caller found for it: a scale; nullopt when no controller with
// that uid exists; an error when it exists but cannot be scaled ("deployments.apps does not
// implement the scale subresource", or no such kind). A uid absent from the map is nullopt.
using ControllerScales = std::map<std::string, Result<std::optional<ControllerScale>>>;

struct PdbEvent {
  std::string type;  // "Warning"
  std::string reason;
  std::string message;
};

struct PdbDecision {
  nlohmann::json status;
  std::vector<PdbEvent> events;
};

PdbDecision decidePdbStatus(const nlohmann::json& pdb,
                            const std::vector<nlohmann::json>& matched_pods,
                            const ControllerScales& scales, api::WallTime now);

}  // namespace rampart::controller

#pragma once
// Which objects a controller adopts or releases (Kubernetes' ControllerRefManager), for the
// ReplicaSet controller over pods and the Deployment controller over ReplicaSets:
//   - an object whose controller ownerReference is ours stays ours while the controller's
//     spec.selector matches its labels; once it no longer matches it is released (our reference
//     removed), unless the controller itself is being deleted;
//   - an object with no controller reference, in the controller's namespace, matched by the
//     selector and not being deleted, is adopted (`controllerRef` added) — unless the controller
//     is being deleted. Before adopting, the caller re-reads the controller (uncached) and
//     adopts only if it still exists with the same uid and no deletionTimestamp;
//   - objects controlled by another owner are never touched.
// The caller passes only active pods (not finished, as Kubernetes filters them first).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace rampart::controller {

struct OwnershipDecision {
  std::vector<std::string> adopt;    // names to add `controllerRef` to
  std::vector<std::string> release;  // names to remove our ownerReference from
  std::vector<std::string> owned;    // names controlled once these writes are done
};

// The ownerReference a controller puts on what it controls.
nlohmann::json controllerRef(const nlohmann::json& controller);

// Errors: a controller selector that does not parse (names spec.selector).
Result<OwnershipDecision> decideOwnership(const nlohmann::json& controller,
                                          const std::vector<nlohmann::json>& candidates);

}  // namespace rampart::controller

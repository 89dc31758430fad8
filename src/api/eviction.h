#pragma once
// The eviction subresource's decision (`POST .../pods/P/eviction`, kube-apiserver's EvictionREST):
// given the pod and the PodDisruptionBudgets of its namespace, whether the pod may be deleted at
// once, must wait for its budget (429 TooManyRequests: kubectl drain retries every 5 s), or first
// takes one of the budget's allowed disruptions. Pure: the caller reads the pod and the budgets,
// then acts on the plan — a compare-and-swap write of the budget's status, THEN the delete — and
// plans again from fresh reads when a write lost a race.
//
// The safety invariant (a budget's promise): with d = status.disruptionsAllowed as the disruption
// controller last computed it at observedGeneration == generation, at most d evictions of
// healthy pods succeed before the controller recomputes it, because each success first writes
// d-1 (and the pod's name into status.disruptedPods, so the controller does not count it as
// available) with a CAS on the budget's resourceVersion: two concurrent evictions that both read
// d cannot both write d-1, the loser re-reads d-1 and, at 0, is refused. The pod is deleted only
// after that write succeeded, so a crash between the two loses a disruption, never the budget.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"

namespace rampart::api {

struct EvictionPlan {
  enum class Action {
    kDelete,          // no budget stands in the way: delete the pod
    kRefuse,          // answer `code` with `refusal` (a Status); nothing changes
    kTakeDisruption,  // write `pdb` (CAS on its resourceVersion), then delete the pod
  };
  // How the delete is conditioned on the pod still being at the version the plan was made on.
  enum class Pin {
    kNone,
    kRetryOnConflict,  // a pod not yet running: if it changed, plan again
    kBusyOnConflict,   // an unready pod let go without a disruption: if it changed (it may have
                       // become ready), answer the budget's 429
  };
  Action action = Action::kDelete;
  std::string reason;  // why, for logs and tests
  Pin pin = Pin::kNone;
  int code = 0;              // kRefuse: the HTTP status
  nlohmann::json refusal;    // kRefuse: the Status
  int retry_after_seconds = 0;
  nlohmann::json pdb;        // kTakeDisruption: the budget as it must be written
  std::string pdb_name;      // the budget that applies, if any
};

// `pdbs`: every PodDisruptionBudget of the pod's namespace (those whose selector is missing,
// empty or invalid match no pod, as in Kubernetes). `now` is recorded in status.disruptedPods.
EvictionPlan planEviction(const nlohmann::json& pod, const std::vector<nlohmann::json>& pdbs,
                          WallTime now);

// 429 "Cannot evict pod as it would violate the pod's disruption budget." with the
// DisruptionBudget cause saying the budget is still being processed (Retry-After 10 s).
EvictionPlan budgetBusy(const std::string& pdb_name, std::string reason);
// 504 when the budget kept changing under the eviction's writes.
nlohmann::json budgetConflictTimeout(const std::string& pdb_name);

// Whether the pod's Ready condition is True (Kubernetes' "healthy" for budgets).
bool isPodReady(const nlohmann::json& pod);

}  // namespace rampart::api

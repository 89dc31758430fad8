#pragma once
// PodDisruptionBudget arithmetic, as Kubernetes' disruption controller and eviction API apply
// it: from the budget, the pods its selector matches and how many pods their controllers want,
// the status (expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed), and whether
// one more eviction may happen now. Pure functions.
//   minAvailable N        desiredHealthy = N
//   minAvailable P%       desiredHealthy = ceil(P% × expected)
//   maxUnavailable N|P%   desiredHealthy = expected − N (P% rounded up)
//   disruptionsAllowed = max(0, currentHealthy − desiredHealthy)
// currentHealthy counts Ready pods not being deleted.

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"

namespace rampart::controller {

// An IntOrString ("25%" or 3) against `total`: percentages rounded up or down as asked.
Result<int64_t> scaledValue(const nlohmann::json& value, int64_t total, bool round_up);

struct BudgetStatus {
  int64_t expected = 0;
  int64_t current_healthy = 0;
  int64_t desired_healthy = 0;
  int64_t disruptions_allowed = 0;
};

// `expected`: the replicas the matched pods' controllers want (the number of matched pods when
// they have none).
Result<BudgetStatus> budgetStatus(const nlohmann::json& budget,
                                  const std::vector<nlohmann::json>& matched_pods,
                                  int64_t expected);

// May `pod` be evicted under `status`? An unhealthy pod may always go (it counts for nothing);
// a healthy one only while a disruption is allowed.
bool evictionAllowed(const BudgetStatus& status, const nlohmann::json& pod);

}  // namespace rampart::controller

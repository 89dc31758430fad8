#include "controller/pdb_status.h"

#include <set>

#include "controller/disruption.h"
#include "controller/replicaset.h"

namespace rampart::controller {
using json = nlohmann::json;

namespace {

constexpr auto kDisruptedPodTimeout = std::chrono::minutes(2);  // Kubernetes' DeletionTimeout

std::string controllerUid(const json& pod) {
  for (const auto& ref : pod.value("/metadata/ownerReferences"_json_pointer, json::array())) {
    if (ref.is_object() && ref.value("controller", false)) {
      return ref.value("uid", "");
    }
  }
  return "";
}

}  // namespace

json decidePdbStatus(const json& pdb, const std::vector<json>& matched_pods,
                     const std::map<std::string, int64_t>& controller_replicas, api::WallTime now) {
  json old = pdb.value("status", json::object());
  int64_t generation = pdb.value("/metadata/generation"_json_pointer, int64_t{0});

  // Evictions still in flight: they count as gone already.
  json disrupted = json::object();
  std::map<std::string, const json*> by_name;
  for (const auto& pod : matched_pods) {
    by_name[pod.value("/metadata/name"_json_pointer, std::string())] = &pod;
  }
  const json previously = old.value("disruptedPods", json::object());
  for (const auto& [name, when] : previously.items()) {
    auto it = by_name.find(name);
    auto at = when.is_string() ? api::parseRfc3339(when.get<std::string>()) : std::nullopt;
    if (it == by_name.end() || !isActivePod(*it->second) || !at ||
        *at + kDisruptedPodTimeout < now) {
      continue;
    }
    disrupted[name] = when;
  }
  std::vector<json> counted;
  for (const auto& pod : matched_pods) {
    if (!disrupted.contains(pod.value("/metadata/name"_json_pointer, std::string()))) {
      counted.push_back(pod);
    }
  }

  bool by_count = !pdb.contains("/spec/maxUnavailable"_json_pointer) &&
                  pdb.contains("/spec/minAvailable"_json_pointer) &&
                  pdb["/spec/minAvailable"_json_pointer].is_number_integer();
  std::string failure;
  int64_t expected = static_cast<int64_t>(matched_pods.size());
  if (!by_count) {
    expected = 0;
    std::set<std::string> seen;
    for (const auto& pod : matched_pods) {
      std::string uid = controllerUid(pod);
      auto it = controller_replicas.find(uid);
      if (uid.empty() || it == controller_replicas.end()) {
        failure = "found no controllers for pod \"" +
                  pod.value("/metadata/name"_json_pointer, std::string()) + "\"";
        break;
      }
      if (seen.insert(uid).second) {
        expected += it->second;
      }
    }
  }
  BudgetStatus s;
  if (failure.empty()) {
    auto status = budgetStatus(pdb, counted, expected);
    if (status) {
      s = *status;
    } else {
      failure = status.error().message;
    }
  }
  if (!failure.empty()) {
    // Fail safe: a budget we cannot compute allows no disruption.
    s = BudgetStatus{};
  }

  json status = old;
  status["observedGeneration"] = generation;
  status["expectedPods"] = s.expected;
  status["currentHealthy"] = s.current_healthy;
  status["desiredHealthy"] = s.desired_healthy;
  status["disruptionsAllowed"] = s.disruptions_allowed;
  if (disrupted.empty()) {
    status.erase("disruptedPods");
  } else {
    status["disruptedPods"] = disrupted;
  }
  std::string cond_status = s.disruptions_allowed > 0 ? "True" : "False";
  std::string reason = !failure.empty()            ? "SyncFailed"
                       : s.disruptions_allowed > 0 ? "SufficientPods"
                                                   : "InsufficientPods";
  json cond = {{"type", "DisruptionAllowed"},
               {"status", cond_status},
               {"reason", reason},
               {"message", failure},
               {"observedGeneration", generation},
               {"lastTransitionTime", api::formatRfc3339(now)}};
  json conditions = json::array();
  for (const auto& c : old.value("conditions", json::array())) {
    if (c.is_object() && c.value("type", "") == "DisruptionAllowed") {
      if (c.value("status", "") == cond_status) {
        cond["lastTransitionTime"] = c.value("lastTransitionTime", cond["lastTransitionTime"]);
      }
      continue;
    }
    conditions.push_back(c);
  }
  conditions.push_back(cond);
  status["conditions"] = conditions;
  return status;
}

}  // namespace rampart::controller

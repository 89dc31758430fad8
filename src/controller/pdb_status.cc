#include "controller/pdb_status.h"

#include <set>

#include "controller/disruption.h"
#include "controller/replicaset.h"

namespace rampart::controller {
using json = nlohmann::json;

namespace {

constexpr auto kDisruptedPodTimeout = std::chrono::minutes(2);  // Kubernetes' DeletionTimeout

const json* controllerRefOf(const json& pod) {
  const json* refs = pod.contains("/metadata/ownerReferences"_json_pointer)
                         ? &pod["/metadata/ownerReferences"_json_pointer]
                         : nullptr;
  if (refs && refs->is_array()) {
    for (const auto& ref : *refs) {
      if (ref.is_object() && ref.value("controller", false)) {
        return &ref;
      }
    }
  }
  return nullptr;
}

std::string podName(const json& pod) {
  return pod.value("/metadata/name"_json_pointer, std::string());
}

// Go's %v of a *metav1.LabelSelector (its generated String()), which the UnmanagedPods event
// prints: &LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]...{},}
std::string goSelectorString(const json& selector) {
  std::string labels = "map[string]string{";
  const json match_labels = selector.value("matchLabels", json::object());
  for (const auto& [k, v] : match_labels.items()) {
    labels += k + ": " + (v.is_string() ? v.get<std::string>() : v.dump()) + ",";
  }
  labels += "}";
  std::string exprs = "[]LabelSelectorRequirement{";
  const json match_expressions = selector.value("matchExpressions", json::array());
  for (const auto& e : match_expressions) {
    std::string values;
    const json listed = e.value("values", json::array());
    for (const auto& v : listed) {
      values += (values.empty() ? "" : " ") + (v.is_string() ? v.get<std::string>() : v.dump());
    }
    exprs += "LabelSelectorRequirement{Key:" + e.value("key", "") +
             ",Operator:" + e.value("operator", "") + ",Values:[" + values + "],},";
  }
  exprs += "}";
  return "&LabelSelector{MatchLabels:" + labels + ",MatchExpressions:" + exprs + ",}";
}

struct Expected {
  int64_t count = 0;
  std::vector<std::string> unmanaged;
};

// Kubernetes' getExpectedScale: the sum of the pods' controllers' scales, each counted once.
Result<Expected> expectedScale(const std::vector<json>& pods, const ControllerScales& scales) {
  Expected e;
  std::set<std::string> refs_seen;
  std::map<std::string, int64_t> by_scaled_uid;
  for (const auto& pod : pods) {
    const json* ref = controllerRefOf(pod);
    if (!ref) {
      e.unmanaged.push_back(podName(pod));
      continue;
    }
    std::string uid = ref->value("uid", "");
    if (!refs_seen.insert(uid).second) {
      continue;
    }
    auto it = scales.find(uid);
    if (it != scales.end() && !it->second) {
      return fail(it->second.error());
    }
    if (it == scales.end() || !*it->second) {
      return fail(ErrorCode::NotFound, "found no controllers for pod \"", podName(pod), "\"");
    }
    by_scaled_uid[(*it->second)->uid] = (*it->second)->replicas;
  }
  for (const auto& [uid, replicas] : by_scaled_uid) {
    e.count += replicas;
  }
  return e;
}

json disruptionCondition(const json& old_conditions, json cond) {
  json conditions = json::array();
  for (const auto& c : old_conditions) {
    if (c.is_object() && c.value("type", "") == "DisruptionAllowed") {
      // SetStatusCondition: the transition time moves only when the status does.
      if (c.value("status", "") == cond["status"] && c.contains("lastTransitionTime")) {
        cond["lastTransitionTime"] = c["lastTransitionTime"];
      }
      continue;
    }
    conditions.push_back(c);
  }
  conditions.push_back(cond);
  return conditions;
}

// Kubernetes' failSafe: a budget whose expected count cannot be computed allows nothing; the
// other fields stay as they were.
PdbDecision failSafe(const json& old, const json& old_conditions, const std::string& why,
                     api::WallTime now) {
  PdbDecision decision;
  decision.events.push_back({"Warning", "CalculateExpectedPodCountFailed",
                             "Failed to calculate the number of expected pods: " + why});
  decision.status = old;
  decision.status["disruptionsAllowed"] = 0;
  decision.status["conditions"] = disruptionCondition(
      old_conditions, {{"type", "DisruptionAllowed"},
                       {"status", "False"},
                       {"reason", "SyncFailed"},
                       {"message", why},
                       {"observedGeneration", old.value("observedGeneration", int64_t{0})},
                       {"lastTransitionTime", api::formatRfc3339(now)}});
  return decision;
}

}  // namespace

PdbDecision decidePdbStatus(const json& pdb, const std::vector<json>& matched_pods,
                            const ControllerScales& scales, api::WallTime now) {
  PdbDecision decision;
  json old = pdb.value("status", json::object());
  if (!old.is_object()) {
    old = json::object();
  }
  json old_conditions = old.value("conditions", json::array());
  if (!old_conditions.is_array()) {
    old_conditions = json::array();
  }
  int64_t generation = pdb.value("/metadata/generation"_json_pointer, int64_t{0});

  bool by_count = !pdb.contains("/spec/maxUnavailable"_json_pointer) &&
                  pdb.contains("/spec/minAvailable"_json_pointer) &&
                  pdb["/spec/minAvailable"_json_pointer].is_number_integer();
  Result<Expected> expected = Expected{static_cast<int64_t>(matched_pods.size()), {}};
  if (!by_count) {
    expected = expectedScale(matched_pods, scales);
  }
  if (!expected) {
    return failSafe(old, old_conditions, expected.error().message, now);
  }
  if (!expected->unmanaged.empty()) {
    decision.events.push_back(
        {"Warning", "UnmanagedPods",
         "Pods selected by this PodDisruptionBudget (selector: " +
             goSelectorString(pdb.value("/spec/selector"_json_pointer, json::object())) +
             ") were found to be unmanaged. As a result, the status of the PDB cannot be "
             "calculated correctly, which may result in undefined behavior. To account for "
             "these pods please set \".spec.minAvailable\" field of the PDB to an integer "
             "value."});
  }

  // Evictions still in flight: they count as gone already.
  json disrupted = json::object();
  std::map<std::string, const json*> by_name;
  for (const auto& pod : matched_pods) {
    by_name[podName(pod)] = &pod;
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
    if (!disrupted.contains(podName(pod))) {
      counted.push_back(pod);
    }
  }
  auto computed = budgetStatus(pdb, counted, expected->count);
  if (!computed) {
    // An invalid IntOrString: API validation keeps these out, but fail safe all the same.
    return failSafe(old, old_conditions, computed.error().message, now);
  }
  const BudgetStatus& s = *computed;

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
  bool allowed = s.disruptions_allowed > 0;
  status["conditions"] = disruptionCondition(
      old_conditions, {{"type", "DisruptionAllowed"},
                       {"status", allowed ? "True" : "False"},
                       {"reason", allowed ? "SufficientPods" : "InsufficientPods"},
                       {"message", ""},
                       {"observedGeneration", generation},
                       {"lastTransitionTime", api::formatRfc3339(now)}});
  decision.status = status;
  return decision;
}

}  // namespace rampart::controller

#include "api/eviction.h"

#include "api/selector.h"
#include "api/status.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

// Kubernetes' MaxDisruptedPodSize: evictions approved but not yet seen by the disruption
// controller; beyond it the controller is presumed stuck and evictions are refused.
constexpr size_t kMaxDisruptedPods = 2000;

constexpr const char* kViolation =
    "Cannot evict pod as it would violate the pod's disruption budget.";

int64_t intAt(const json& object, const json::json_pointer& at) {
  if (!object.contains(at) || !object[at].is_number_integer()) {
    return 0;
  }
  return object[at].get<int64_t>();
}

std::string phaseOf(const json& pod) {
  return pod.value("/status/phase"_json_pointer, std::string());
}

bool terminating(const json& pod) {
  return pod.contains("/metadata/deletionTimestamp"_json_pointer) &&
         !pod["/metadata/deletionTimestamp"_json_pointer].is_null();
}

Labels labelsOfPod(const json& pod) {
  Labels labels;
  if (pod.contains("/metadata/labels"_json_pointer) &&
      pod["/metadata/labels"_json_pointer].is_object()) {
    for (const auto& [k, v] : pod["/metadata/labels"_json_pointer].items()) {
      if (v.is_string()) {
        labels[k] = v.get<std::string>();
      }
    }
  }
  return labels;
}

// A budget whose selector is missing, empty or invalid protects nothing (Kubernetes: "it
// should match nothing, not everything").
bool budgetCovers(const json& pdb, const Labels& labels) {
  if (!pdb.contains("/spec/selector"_json_pointer) ||
      !pdb["/spec/selector"_json_pointer].is_object()) {
    return false;
  }
  auto selector = labelSelectorFromJson(pdb["/spec/selector"_json_pointer], "spec.selector");
  return selector && !selector->empty() && selector->matches(labels);
}

EvictionPlan refuse(int code, json status, std::string reason) {
  EvictionPlan plan;
  plan.action = EvictionPlan::Action::kRefuse;
  plan.code = code;
  plan.refusal = std::move(status);
  plan.reason = std::move(reason);
  return plan;
}

json tooManyRequests(const std::string& cause, int retry_after) {
  json s = statusFailure(429, "TooManyRequests", kViolation);
  s["details"] = {{"causes", json::array({{{"reason", "DisruptionBudget"}, {"message", cause}}})}};
  if (retry_after > 0) {
    s["details"]["retryAfterSeconds"] = retry_after;
  }
  return s;
}

json forbiddenBudget(const std::string& name, const std::string& why) {
  json s = statusFailure(
      403, "Forbidden", "poddisruptionbudgets.policy \"" + name + "\" is forbidden: " + why);
  s["details"] = {{"name", name}, {"group", "policy"}, {"kind", "poddisruptionbudgets"}};
  return s;
}

// The DisruptionAllowed condition as the disruption controller keeps it (its transition time
// moves only when its status flips).
void setDisruptionAllowedCondition(json& pdb, WallTime now) {
  bool allowed = intAt(pdb, "/status/disruptionsAllowed"_json_pointer) > 0;
  json& conditions = pdb["status"]["conditions"];
  if (!conditions.is_array()) {
    conditions = json::array();
  }
  json condition = {{"type", "DisruptionAllowed"},
                    {"status", allowed ? "True" : "False"},
                    {"reason", allowed ? "SufficientPods" : "InsufficientPods"},
                    {"message", ""},
                    {"observedGeneration", intAt(pdb, "/status/observedGeneration"_json_pointer)},
                    {"lastTransitionTime", formatRfc3339(now)}};
  for (auto& c : conditions) {
    if (c.value("type", "") == "DisruptionAllowed") {
      if (c.value("status", "") == condition["status"] && c.contains("lastTransitionTime")) {
        condition["lastTransitionTime"] = c["lastTransitionTime"];
      }
      c = std::move(condition);
      return;
    }
  }
  conditions.push_back(std::move(condition));
}

}  // namespace

bool isPodReady(const json& pod) {
  if (!pod.contains("/status/conditions"_json_pointer) ||
      !pod["/status/conditions"_json_pointer].is_array()) {
    return false;
  }
  for (const auto& c : pod["/status/conditions"_json_pointer]) {
    if (c.is_object() && c.value("type", "") == "Ready") {
      return c.value("status", "") == "True";
    }
  }
  return false;
}

EvictionPlan budgetBusy(const std::string& pdb_name, std::string reason) {
  EvictionPlan plan = refuse(
      429, tooManyRequests("The disruption budget " + pdb_name + " is still being processed by the server.", 10),
      std::move(reason));
  plan.retry_after_seconds = 10;
  plan.pdb_name = pdb_name;
  return plan;
}

json budgetConflictTimeout(const std::string& pdb_name) {
  json s = statusFailure(504, "Timeout",
                         "Timeout: couldn't update PodDisruptionBudget \"" + pdb_name +
                             "\" due to conflicts");
  s["details"] = {{"retryAfterSeconds", 10}};
  return s;
}

EvictionPlan planEviction(const json& pod, const std::vector<json>& pdbs, WallTime now) {
  std::string phase = phaseOf(pod);
  // A finished pod already disrupted; a pod not yet running, or already going, takes nothing
  // from a budget. A pod not yet running is pinned: should it start meanwhile, plan again.
  if (phase == "Succeeded" || phase == "Failed" || terminating(pod)) {
    return EvictionPlan{.reason = "pod finished or terminating: no budget applies"};
  }
  if (phase == "Pending") {
    return EvictionPlan{.reason = "pod not running yet: no budget applies",
                        .pin = EvictionPlan::Pin::kRetryOnConflict};
  }
  Labels labels = labelsOfPod(pod);
  std::string ns = pod.value("/metadata/namespace"_json_pointer, std::string());
  std::vector<const json*> covering;
  for (const auto& pdb : pdbs) {
    if (pdb.value("/metadata/namespace"_json_pointer, std::string()) == ns &&
        budgetCovers(pdb, labels)) {
      covering.push_back(&pdb);
    }
  }
  if (covering.size() > 1) {
    json s = {{"kind", "Status"},
              {"apiVersion", "v1"},
              {"metadata", json::object()},
              {"status", "Failure"},
              {"message",
               "This pod has more than one PodDisruptionBudget, which the eviction subresource "
               "does not support."},
              {"code", 500}};
    return refuse(500, std::move(s), "pod covered by more than one budget");
  }
  if (covering.empty()) {
    return EvictionPlan{.reason = "no budget covers the pod"};
  }
  const json& pdb = *covering.front();
  std::string name = pdb.value("/metadata/name"_json_pointer, std::string());
  int64_t allowed = intAt(pdb, "/status/disruptionsAllowed"_json_pointer);
  int64_t current = intAt(pdb, "/status/currentHealthy"_json_pointer);
  int64_t desired = intAt(pdb, "/status/desiredHealthy"_json_pointer);
  bool ready = isPodReady(pod);
  // An unready pod does not count as healthy: removing it costs the budget nothing, under
  // AlwaysAllow always, under IfHealthyBudget (the default) while the budget is met. The delete
  // is pinned to the pod's version so that a pod turning ready meanwhile is not let go for free.
  std::string policy =
      pdb.value("/spec/unhealthyPodEvictionPolicy"_json_pointer, std::string("IfHealthyBudget"));
  if (!ready && (policy == "AlwaysAllow" || (desired > 0 && current >= desired))) {
    return EvictionPlan{.reason = "unready pod and the budget " + name + " is met",
                        .pin = EvictionPlan::Pin::kBusyOnConflict,
                        .pdb_name = name};
  }
  if (intAt(pdb, "/status/observedGeneration"_json_pointer) <
      intAt(pdb, "/metadata/generation"_json_pointer)) {
    return budgetBusy(name, "the budget " + name + " has not been observed at its generation");
  }
  if (allowed < 0) {
    EvictionPlan plan = refuse(403, forbiddenBudget(name, "pdb disruptions allowed is negative"),
                               "negative disruptionsAllowed");
    plan.pdb_name = name;
    return plan;
  }
  size_t disrupted = 0;
  if (pdb.contains("/status/disruptedPods"_json_pointer) &&
      pdb["/status/disruptedPods"_json_pointer].is_object()) {
    disrupted = pdb["/status/disruptedPods"_json_pointer].size();
  }
  if (disrupted > kMaxDisruptedPods) {
    EvictionPlan plan = refuse(
        403,
        forbiddenBudget(name, "DisruptedPods map too big - too many evictions not confirmed by "
                              "PDB controller"),
        "too many unconfirmed evictions");
    plan.pdb_name = name;
    return plan;
  }
  if (allowed == 0) {
    EvictionPlan plan = refuse(429,
                               tooManyRequests("The disruption budget " + name + " needs " +
                                                   std::to_string(desired) +
                                                   " healthy pods and has " +
                                                   std::to_string(current) + " currently",
                                               0),
                               "the budget " + name + " allows no disruption");
    plan.pdb_name = name;
    return plan;
  }
  // allowed ≥ 1: this eviction takes one, leaving allowed-1 ≥ 0 for the others.
  json next = pdb;
  next["status"]["disruptionsAllowed"] = allowed - 1;
  if (allowed - 1 == 0) {
    setDisruptionAllowedCondition(next, now);
  }
  json& disrupted_pods = next["status"]["disruptedPods"];
  if (!disrupted_pods.is_object()) {
    disrupted_pods = json::object();
  }
  disrupted_pods[pod.value("/metadata/name"_json_pointer, std::string())] = formatRfc3339(now);
  EvictionPlan plan;
  plan.action = EvictionPlan::Action::kTakeDisruption;
  plan.reason = "the budget " + name + " allows " + std::to_string(allowed) + " disruption(s)";
  plan.pdb = std::move(next);
  plan.pdb_name = name;
  return plan;
}

}  // namespace rampart::api

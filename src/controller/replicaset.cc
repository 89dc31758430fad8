#include "controller/replicaset.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "api/selector.h"

namespace rampart::controller {
using json = nlohmann::json;

namespace {

const json* readyCondition(const json& pod) {
  if (!pod.contains("/status/conditions"_json_pointer) ||
      !pod["/status/conditions"_json_pointer].is_array()) {
    return nullptr;
  }
  for (const auto& c : pod["/status/conditions"_json_pointer]) {
    if (c.is_object() && c.value("type", "") == "Ready") {
      return &c;
    }
  }
  return nullptr;
}

std::optional<api::WallTime> readySince(const json& pod) {
  const json* c = readyCondition(pod);
  if (!c || c->value("status", "") != "True") {
    return std::nullopt;
  }
  return api::parseRfc3339(c->value("lastTransitionTime", ""));
}

int phaseRank(const json& pod) {
  std::string phase = pod.value("/status/phase"_json_pointer, std::string());
  return phase == "Pending" ? 0 : phase == "Unknown" ? 1 : phase == "Running" ? 2 : 0;
}

int64_t restarts(const json& pod) {
  int64_t total = 0;
  if (pod.contains("/status/containerStatuses"_json_pointer) &&
      pod["/status/containerStatuses"_json_pointer].is_array()) {
    for (const auto& c : pod["/status/containerStatuses"_json_pointer]) {
      total = std::max(total, c.value("restartCount", int64_t{0}));
    }
  }
  return total;
}

std::string created(const json& pod) {
  return pod.value("/metadata/creationTimestamp"_json_pointer, std::string());
}

// Kubernetes' ActivePods ordering: true when `a` should be deleted before `b`.
bool deleteFirst(const json& a, const json& b) {
  bool a_bound = !a.value("/spec/nodeName"_json_pointer, std::string()).empty();
  bool b_bound = !b.value("/spec/nodeName"_json_pointer, std::string()).empty();
  if (a_bound != b_bound) {
    return !a_bound;
  }
  if (phaseRank(a) != phaseRank(b)) {
    return phaseRank(a) < phaseRank(b);
  }
  bool a_ready = isPodReady(a);
  bool b_ready = isPodReady(b);
  if (a_ready != b_ready) {
    return !a_ready;
  }
  if (a_ready) {
    auto a_since = readySince(a);
    auto b_since = readySince(b);
    if (a_since && b_since && *a_since != *b_since) {
      return *a_since > *b_since;  // ready for less time goes first
    }
  }
  if (restarts(a) != restarts(b)) {
    return restarts(a) > restarts(b);
  }
  if (created(a) != created(b)) {
    return created(a) > created(b);  // RFC 3339 in UTC sorts as text: newest first
  }
  return a.value("/metadata/name"_json_pointer, std::string()) >
         b.value("/metadata/name"_json_pointer, std::string());
}

api::Labels labelsOf(const json& object, const json::json_pointer& at) {
  api::Labels labels;
  if (object.contains(at) && object[at].is_object()) {
    for (const auto& [k, v] : object[at].items()) {
      if (v.is_string()) {
        labels[k] = v.get<std::string>();
      }
    }
  }
  return labels;
}

}  // namespace

bool isActivePod(const json& pod) {
  std::string phase = pod.value("/status/phase"_json_pointer, std::string());
  return !pod.contains("/metadata/deletionTimestamp"_json_pointer) && phase != "Succeeded" &&
         phase != "Failed";
}

bool isPodReady(const json& pod) {
  const json* c = readyCondition(pod);
  return c && c->value("status", "") == "True";
}

bool isPodAvailable(const json& pod, int64_t min_ready_seconds, api::WallTime now) {
  if (!isPodReady(pod)) {
    return false;
  }
  if (min_ready_seconds <= 0) {
    return true;
  }
  auto since = readySince(pod);
  return since && now - *since >= std::chrono::seconds(min_ready_seconds);
}

ReplicaSetDecision decideReplicaSet(const json& rs, const std::vector<json>& owned_pods,
                                    api::WallTime now, int burst) {
  ReplicaSetDecision d;
  int64_t want = rs.value("/spec/replicas"_json_pointer, int64_t{1});
  int64_t min_ready = rs.value("/spec/minReadySeconds"_json_pointer, int64_t{0});
  api::Labels template_labels = labelsOf(rs, "/spec/template/metadata/labels"_json_pointer);

  std::vector<const json*> active;
  for (const auto& pod : owned_pods) {
    if (isActivePod(pod)) {
      active.push_back(&pod);
    }
  }
  int64_t have = static_cast<int64_t>(active.size());
  int64_t ready = 0;
  int64_t available = 0;
  int64_t fully_labeled = 0;
  for (const json* pod : active) {
    ready += isPodReady(*pod);
    available += isPodAvailable(*pod, min_ready, now);
    api::Labels labels = labelsOf(*pod, "/metadata/labels"_json_pointer);
    fully_labeled +=
        std::all_of(template_labels.begin(), template_labels.end(), [&](const auto& kv) {
          auto it = labels.find(kv.first);
          return it != labels.end() && it->second == kv.second;
        });
  }
  if (have < want) {
    d.create = static_cast<int>(std::min<int64_t>(want - have, burst));
    d.reason = "too few replicas: " + std::to_string(have) + " of " + std::to_string(want) +
               ", creating " + std::to_string(d.create);
  } else if (have > want) {
    std::vector<const json*> ranked = active;
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const json* a, const json* b) { return deleteFirst(*a, *b); });
    int64_t excess = std::min<int64_t>(have - want, burst);
    for (int64_t i = 0; i < excess; ++i) {
      d.delete_names.push_back(
          ranked[static_cast<size_t>(i)]->value("/metadata/name"_json_pointer, std::string()));
    }
    d.reason = "too many replicas: " + std::to_string(have) + " of " + std::to_string(want) +
               ", deleting " + std::to_string(excess);
  } else {
    d.reason = "replicas as desired: " + std::to_string(want);
  }
  d.status = {{"replicas", have},
              {"fullyLabeledReplicas", fully_labeled},
              {"readyReplicas", ready},
              {"availableReplicas", available},
              {"observedGeneration", rs.value("/metadata/generation"_json_pointer, int64_t{0})}};
  return d;
}

}  // namespace rampart::controller

#pragma once
// Facts about pods and nodes that several controllers read the same way Kubernetes does: the
// taints of a node and whether a pod's tolerations cover them (scheduler, taint manager), a
// pod's resource requests (scheduler), labels and owner references (garbage collector,
// endpoints). Pure functions over Kubernetes-shaped JSON; thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/quantity.h"
#include "api/selector.h"
#include "api/table.h"
#include "base/result.h"

namespace rampart::controller {

// An event a decision asks the caller to record (core/v1 Event: type, reason, message,
// involvedObject named by `object`).
struct ControllerEvent {
  std::string type;     // Normal | Warning
  std::string reason;   // ScalingReplicaSet, NodeNotReady, TaintManagerEviction, ...
  std::string message;  // "Scaled up replica set web-5d9c7 from 0 to 3"
  std::string object;   // name (namespace/name for namespaced objects) it is about
};

// Well-known taint keys (Kubernetes' names, so manifests written for Kubernetes tolerate them).
inline constexpr const char* kTaintNotReady = "node.kubernetes.io/not-ready";
inline constexpr const char* kTaintUnreachable = "node.kubernetes.io/unreachable";
inline constexpr const char* kTaintUnschedulable = "node.kubernetes.io/unschedulable";

struct Taint {
  std::string key;
  std::string value;
  std::string effect;                  // NoSchedule | PreferNoSchedule | NoExecute
  std::optional<api::WallTime> added;  // timeAdded (NoExecute taints carry it)
};

struct Toleration {
  std::string key;  // empty with Exists: every key
  std::string op;   // Equal (the default) | Exists
  std::string value;
  std::string effect;              // empty: every effect
  std::optional<int64_t> seconds;  // tolerationSeconds (NoExecute only)

  bool tolerates(const Taint& taint) const;
};

std::vector<Taint> taintsOf(const nlohmann::json& node);
std::vector<Toleration> tolerationsOf(const nlohmann::json& pod);
// The first taint with one of `effects` that no toleration covers, if any.
const Taint* firstUntolerated(const std::vector<Taint>& taints,
                              const std::vector<Toleration>& tolerations,
                              std::initializer_list<std::string_view> effects);
nlohmann::json taintToJson(const Taint& taint);

// A string→string map at `pointer` (labels, annotations, nodeSelector); absent → empty.
api::Labels stringMap(const nlohmann::json& object, const char* pointer);

// "namespace/name" (the key controllers log and index by).
std::string objectKey(const nlohmann::json& object);

// The status of the Ready condition ("True", "False", "Unknown"), or "" when there is none.
std::string readyStatus(const nlohmann::json& object);

// What a pod asks of a node: the larger of the sum of its containers' requests and each init
// container's, plus overhead (Kubernetes' effective request). Errors name the field.
struct PodRequests {
  api::Quantity cpu;
  api::Quantity memory;
};
Result<PodRequests> podRequests(const nlohmann::json& pod);

}  // namespace rampart::controller

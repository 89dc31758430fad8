#pragma once
// The taint manager's decision (Kubernetes' NoExecute taint eviction): which pods on a node
// must go because of its NoExecute taints, and when the next one falls due.
//   - a pod that does not tolerate every NoExecute taint of its node is evicted now;
//   - a pod that tolerates them all with tolerationSeconds is evicted once, for some taint,
//     timeAdded + the seconds of the first toleration matching it have passed; tolerations
//     without seconds tolerate for ever. Counting from the taint's timeAdded (which node
//     lifecycle and kubectl write) makes the decision stateless and the same on a new leader;
//   - a pod with no toleration of its own for node.kubernetes.io/not-ready or unreachable
//     (NoExecute) gets Rampart's default (`TaintManagerConfig`: 0 s, at once; Kubernetes' admission
//     default is 300 s), as the DefaultTolerationSeconds admission plugin would have given it;
//   - fencing: while the node carries the unreachable taint, a pod that must not run twice
//     waits until the caller says the node is fenced (node_lifecycle.h), since it may still be
//     running there. A ReplicaSet's pod goes at once (a second copy for the length of a
//     partition is harmless, and its controller deletes the extra one when the node returns)
//     unless annotated rampart.io/unique=true; every other pod waits;
//   - before deleting, the caller writes the pod condition DisruptionTarget=True, reason
//     DeletionByTaintManager, "Taint manager: deleting due to NoExecute taint" (as Kubernetes
//     1.32 does), then deletes the pod and records the TaintManagerEviction event.
// Pods already being deleted, and finished pods, are left alone.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"
#include "controller/pod_util.h"

namespace rampart::controller {

// A ReplicaSet's pod annotated with it waits for the node's fencing like a StatefulSet's.
inline constexpr const char* kUniqueAnnotation = "rampart.io/unique";

bool replaceableBeforeFencing(const nlohmann::json& pod);

struct TaintManagerConfig {
  // tolerationSeconds given to pods that do not tolerate the condition taints themselves;
  // nullopt: none (such pods go as soon as the taint appears).
  // Rampart's defaults: at once (Kubernetes' admission plugin gives 300 s).
  std::optional<int64_t> not_ready_toleration_seconds = 0;
  std::optional<int64_t> unreachable_toleration_seconds = 0;
};

struct PodEviction {
  std::string pod;           // namespace/name
  nlohmann::json condition;  // the DisruptionTarget condition to write before deleting
  ControllerEvent event;     // TaintManagerEviction
  std::string reason;
};

struct TaintEvictionDecision {
  std::vector<PodEviction> evict;
  std::vector<std::string> held_until_fenced;  // due, but the node is not yet fenced
  std::optional<api::WallTime> next_check;     // when the next pending eviction falls due
  std::string reason;
};

TaintEvictionDecision decideTaintEvictions(const nlohmann::json& node,
                                           const std::vector<nlohmann::json>& pods_on_node,
                                           api::WallTime now, bool node_fenced,
                                           const TaintManagerConfig& config = {});

}  // namespace rampart::controller

#include "controller/taints.h"

#include <algorithm>

#include "controller/replicaset.h"

namespace rampart::controller {
using json = nlohmann::json;

// Whether a second copy of `pod` running for a while is harmless, so its replacement need not
// wait for the lost node's fencing: a pod of a ReplicaSet (a Deployment's), whose controller
// makes the replacement and removes extra copies once the node returns — unless it is annotated
// rampart.io/unique=true. Every other pod (a StatefulSet's, a bare pod, any other owner) waits,
// because two copies of it may do harm: when unsure, fence.
bool replaceableBeforeFencing(const json& pod) {
  const json* annotations = pod.contains("metadata") && pod["metadata"].contains("annotations")
                                ? &pod["metadata"]["annotations"]
                                : nullptr;
  if (annotations != nullptr && annotations->is_object() &&
      annotations->value(kUniqueAnnotation, "") == "true") {
    return false;
  }
  if (!pod.contains("metadata") || !pod["metadata"].contains("ownerReferences") ||
      !pod["metadata"]["ownerReferences"].is_array()) {
    return false;
  }
  for (const auto& ref : pod["metadata"]["ownerReferences"]) {
    if (ref.is_object() && ref.value("controller", false)) {
      return ref.value("kind", "") == "ReplicaSet" && ref.value("apiVersion", "") == "apps/v1";
    }
  }
  return false;
}

TaintEvictionDecision decideTaintEvictions(const json& node, const std::vector<json>& pods_on_node,
                                           api::WallTime now, bool node_fenced,
                                           const TaintManagerConfig& config) {
  TaintEvictionDecision d;
  std::vector<Taint> no_execute;
  bool unreachable = false;
  for (auto& t : taintsOf(node)) {
    if (t.effect == "NoExecute") {
      unreachable |= t.key == kTaintUnreachable;
      no_execute.push_back(std::move(t));
    }
  }
  if (no_execute.empty()) {
    d.reason = "no NoExecute taints";
    return d;
  }
  for (const auto& pod : pods_on_node) {
    if (!isActivePod(pod)) {
      continue;
    }
    std::vector<Toleration> tolerations = tolerationsOf(pod);
    auto addDefault = [&](const char* key, const std::optional<int64_t>& seconds) {
      Taint probe{key, "", "NoExecute", std::nullopt};
      bool own = std::any_of(tolerations.begin(), tolerations.end(),
                             [&](const Toleration& t) { return t.tolerates(probe); });
      if (!own && seconds) {
        tolerations.push_back({key, "Exists", "", "NoExecute", seconds});
      }
    };
    addDefault(kTaintNotReady, config.not_ready_toleration_seconds);
    addDefault(kTaintUnreachable, config.unreachable_toleration_seconds);

    std::optional<api::WallTime> due;  // earliest moment a taint's toleration runs out
    std::string why;
    for (const auto& taint : no_execute) {
      auto match = std::find_if(tolerations.begin(), tolerations.end(),
                                [&](const Toleration& t) { return t.tolerates(taint); });
      if (match == tolerations.end()) {
        due = now;
        why = "untolerated taint " + taint.key;
        break;
      }
      if (!match->seconds) {
        continue;  // tolerated for ever
      }
      // A taint without timeAdded counts from now: it never falls due on its own.
      api::WallTime from = taint.added.value_or(now);
      api::WallTime at = from + std::chrono::seconds(std::max<int64_t>(0, *match->seconds));
      if (!due || at < *due) {
        due = at;
        why =
            "toleration of " + taint.key + " for " + std::to_string(*match->seconds) + " s ran out";
      }
    }
    if (!due) {
      continue;
    }
    std::string key = objectKey(pod);
    if (*due > now) {
      if (!d.next_check || *due < *d.next_check) {
        d.next_check = *due;
      }
      continue;
    }
    if (unreachable && !node_fenced && !replaceableBeforeFencing(pod)) {
      d.held_until_fenced.push_back(key);
      continue;
    }
    d.evict.push_back({key,
                       {{"type", "DisruptionTarget"},
                        {"status", "True"},
                        {"reason", "DeletionByTaintManager"},
                        {"message", "Taint manager: deleting due to NoExecute taint"},
                        {"lastTransitionTime", api::formatRfc3339(now)}},
                       {"Normal", "TaintManagerEviction", "Marking for deletion Pod " + key, key},
                       why});
  }
  d.reason = std::to_string(d.evict.size()) + " to evict, " +
             std::to_string(d.held_until_fenced.size()) + " held until the node is fenced";
  return d;
}

}  // namespace rampart::controller

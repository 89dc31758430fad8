#pragma once
// The StatefulSet controller's decision (kube-controller-manager's StatefulSet control, as a
// pure function): pods with stable names <set>-<ordinal>, made one at a time in order
// (OrderedReady: each waits for the ones before it to be Running and Ready) or all at once
// (Parallel); scaled down from the highest ordinal; rolled to a new template from the highest
// ordinal down to the partition, one pod at a time.
//
// Never two copies: a pod is created only under its stable name, so the API's name uniqueness
// is the lock — while an object <set>-<i> exists (even terminating, even on a lost node) no
// second one can be made. Its object goes only when its node agent has stopped it (the final
// delete), or when the node lifecycle controller force-deletes it once the node is fenced, by
// which time the node itself has killed it (runtime/fence.h). So the replacement of a pod on a
// lost node starts after the fence, never beside the old copy.
//
// A failed pod (phase Failed) is deleted and made again. Pods are labelled
// statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and
// controller-revision-hash, get hostname = their name and subdomain = spec.serviceName.
// Revisions are a hash of the pod template ("<set>-<hash>"), kept as ControllerRevision objects
// of that name (statefulset_history.h). A pod of a set with volumeClaimTemplates refers to its
// claims <template>-<set>-<ordinal> (statefulset_storage.h), which the reconciler creates before
// the pod. Orphan pods are not adopted.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rampart::controller {

struct StatefulSetDecision {
  std::vector<nlohmann::json> create;  // whole pod objects
  std::vector<std::string> remove;     // pod names, deleted gracefully
  nlohmann::json status;               // the StatefulSet's status as it should be now
  std::string reason;                  // for logs
};

// `pods`: the pods this StatefulSet controls (controller ownerReference with its uid).
StatefulSetDecision decideStatefulSet(const nlohmann::json& set,
                                      const std::vector<nlohmann::json>& pods);

// "<set>-<hash of spec.template>".
std::string templateRevision(const nlohmann::json& set);
// The ordinal of `pod_name` in set `set_name` ("web-3" → 3), or -1.
int ordinalOf(const std::string& set_name, const std::string& pod_name);

inline constexpr const char* kStatefulSetPodNameLabel = "statefulset.kubernetes.io/pod-name";
inline constexpr const char* kPodIndexLabel = "apps.kubernetes.io/pod-index";
inline constexpr const char* kRevisionLabel = "controller-revision-hash";

}  // namespace rampart::controller

#pragma once
// The scheduler's volume binding for Rampart's node-local claims (kube-scheduler's
// VolumeBinding plugin with WaitForFirstConsumer local volumes, without PersistentVolume
// objects): a PersistentVolumeClaim is a directory on one node, so
//   - a pod whose claim is already bound (annotation volume.kubernetes.io/selected-node, the
//     annotation Kubernetes' binder writes) may go only to that node. When that node is gone,
//     unschedulable or NotReady the pod stays Pending with kube-scheduler's FailedScheduling
//     message "0/3 nodes are available: ... node(s) had volume node affinity conflict." — it is
//     never moved away from its data;
//   - a pod with unbound claims goes where the other filters say, and its claims are bound to
//     that node before the pod is (claimBindPatch(), then claimBoundStatus()), so a pod never
//     runs on a node its claim is not bound to;
//   - a missing claim, or one being deleted, keeps the pod Pending: `persistentvolumeclaim
//     "data-web-0" not found` / `... is being deleted` (kube-scheduler's words).
// The restriction is expressed as a required node affinity on metadata.name that the
// scheduler's NodeAffinity filter applies (pinnedToNode()); the caller rewords that filter's
// reason into the volume conflict. Pure; thread-safe.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rampart::controller {

inline constexpr const char* kSelectedNodeAnnotation = "volume.kubernetes.io/selected-node";

// namespace, name → the claim, or nullptr.
using ClaimLookup = std::function<const nlohmann::json*(const std::string&, const std::string&)>;

struct PodClaims {
  std::vector<std::string> unbound;  // claim names to bind to the chosen node (or whose
                                     // binding to their node is half written)
  std::string node;                  // the node the pod's bound claims pin it to; "" none
  std::string error;                 // non-empty: not schedulable now (the event's message)
};

PodClaims podClaims(const nlohmann::json& pod, const ClaimLookup& claim);

// `pod` with a required node affinity term on metadata.name = node, ANDed into every term the
// pod already has.
nlohmann::json pinnedToNode(const nlohmann::json& pod, const std::string& node);

// The FailedScheduling message of a pinned pod: the NodeAffinity reason becomes the volume
// conflict (unless the pod has node affinity or a nodeSelector of its own, whose failures stay
// named as they are).
std::string volumeConflictMessage(const nlohmann::json& pod, const std::string& message);

// Merge patch binding `claim` to `node`: the selected-node annotation and spec.volumeName
// "pvc-<uid>" (the name a provisioner gives the volume).
nlohmann::json claimBindPatch(const nlohmann::json& claim, const std::string& node);
// Merge patch for the claim's status subresource: phase Bound, the capacity it asked for and
// its access modes.
nlohmann::json claimBoundStatus(const nlohmann::json& claim);

// Claim protection (kube-controller-manager's pvc-protection-controller): the API gives every
// claim the finalizer kubernetes.io/pvc-protection; a claim being deleted keeps it (and shows
// Terminating) while a pod that is not finished names it, so a running database member never
// loses its volume under it. True when `claim` is being deleted, carries the finalizer and no
// pod of `pods` (its namespace's) that is not Succeeded/Failed names it.
inline constexpr const char* kClaimProtectionFinalizer = "kubernetes.io/pvc-protection";
bool claimReleasable(const nlohmann::json& claim, const std::vector<const nlohmann::json*>& pods);
// A merge patch removing the finalizer (resourceVersion-guarded, so a racing change is retried).
nlohmann::json claimReleasePatch(const nlohmann::json& claim);

// The node a claim is bound to ("" when unbound).
std::string claimNode(const nlohmann::json& claim);

}  // namespace rampart::controller

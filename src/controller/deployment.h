#pragma once
// The Deployment controller's decision, as a pure function of the Deployment and the
// ReplicaSets it controls (ownerReference controller=true with its uid) → the ReplicaSet writes,
// the Deployment's revision annotation, its status and the events, as kube-controller-manager
// 1.32 does one sync:
//   - the new ReplicaSet is the one whose pod template equals the Deployment's, ignoring the
//     pod-template-hash label; it is named `<deployment>-<hash>`, the hash a stable FNV-1a of
//     the template's canonical JSON (and status.collisionCount), encoded as Kubernetes encodes
//     its hash. A changed template (e.g. kubectl.kubernetes.io/restartedAt from `kubectl rollout
//     restart`) makes a new hash and so a new ReplicaSet;
//   - revisions: the new ReplicaSet gets max(old revisions) + 1 in
//     deployment.kubernetes.io/revision (reusing an old ReplicaSet after `kubectl rollout undo`
//     moves its revision up and records the old one in deployment.kubernetes.io/revision-history),
//     and the Deployment carries the same annotation. Every ReplicaSet written carries
//     deployment.kubernetes.io/desired-replicas and max-replicas (replicas + maxSurge), which
//     proportional scaling reads back. kubectl's undo needs exactly these: it lists the
//     ReplicaSets the Deployment controls, picks one by revision and patches the template back;
//   - RollingUpdate: scale the new ReplicaSet up while the total stays ≤ replicas + maxSurge,
//     scale old ones down (unhealthy replicas first, oldest ReplicaSet first) while available
//     pods stay ≥ replicas − maxUnavailable (maxSurge rounded up, maxUnavailable down; both 0 →
//     maxUnavailable 1). Recreate: old ReplicaSets to 0, and the new one is scaled up only once
//     no old ReplicaSet reports pods;
//   - a change of spec.replicas alone is a scaling event: the replicas are spread over the
//     active ReplicaSets in proportion, as Kubernetes does, without advancing the rollout;
//   - a complete Deployment deletes old ReplicaSets with no pods beyond revisionHistoryLimit
//     (lowest revision first);
//   - status and conditions as `kubectl rollout status` reads them: Available
//     (MinimumReplicasAvailable / MinimumReplicasUnavailable) and Progressing
//     (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, or
//     False with ProgressDeadlineExceeded once progressDeadlineSeconds pass without progress,
//     counted from the condition's lastUpdateTime).
// Paused Deployments only scale and report (Progressing Unknown, DeploymentPaused).
// The caller writes in order (creates, updates, then deletes; updates carry the observed
// resourceVersion so a stale decision loses with 409 and is made again), then the annotation,
// then /status; events are "ScalingReplicaSet" with Kubernetes' messages.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"
#include "base/result.h"
#include "controller/pod_util.h"

namespace rampart::controller {

inline constexpr const char* kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr const char* kRevisionHistoryAnnotation =
    "deployment.kubernetes.io/revision-history";
inline constexpr const char* kDesiredReplicasAnnotation =
    "deployment.kubernetes.io/desired-replicas";
inline constexpr const char* kMaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";
inline constexpr const char* kPodTemplateHashLabel = "pod-template-hash";

struct DeploymentDecision {
  std::vector<nlohmann::json> create;     // new ReplicaSets
  std::vector<nlohmann::json> update;     // ReplicaSets with new replicas/annotations
  std::vector<std::string> delete_names;  // old ReplicaSets past the history limit
  // When not null: the Deployment's metadata.annotations as they must be (revision).
  nlohmann::json annotations;
  nlohmann::json status;  // the Deployment's new status
  std::vector<ControllerEvent> events;
  std::string reason;
};

// The pod-template-hash of `template_spec` with `collision_count`.
std::string podTemplateHash(const nlohmann::json& template_spec, int64_t collision_count);

// Errors: a strategy value that does not parse (the message names the field).
// `pods`: the pods of the Deployment's ReplicaSets, read only by Recreate (no new pod while an
// old one is not finished, even when terminating); without them the old ReplicaSets' reported
// status.replicas stands in.
Result<DeploymentDecision> decideDeployment(const nlohmann::json& deployment,
                                            const std::vector<nlohmann::json>& replica_sets,
                                            api::WallTime now);
Result<DeploymentDecision> decideDeployment(const nlohmann::json& deployment,
                                            const std::vector<nlohmann::json>& replica_sets,
                                            api::WallTime now,
                                            const std::vector<nlohmann::json>& pods);

}  // namespace rampart::controller

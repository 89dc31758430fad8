#pragma once
// The per-pod volumes of a StatefulSet (spec.volumeClaimTemplates), as kube-controller-manager
// makes them: pod <set>-<i> gets, for each template `t`, the PersistentVolumeClaim
// `t-<set>-<i>` and a volume named `t` that refers to it (replacing a template volume of the
// same name). The claim is made before the pod (the controller POSTs the claims first; 409
// AlreadyExists is success: a claim outlives its pods, so a replacement pod finds its data).
//
// Retention (spec.persistentVolumeClaimRetentionPolicy, Kubernetes 1.32 defaults Retain/
// Retain): a claim gets an ownerReference to the set only when whenDeleted is Delete, so the
// garbage collector removes it with the set; with Retain it has no owner and outlives the set,
// as on Kubernetes. Scale-down never deletes claims (whenScaled Delete is not implemented:
// claims are kept, as with Retain).
//
// Claims are node-local (no PersistentVolumes): the scheduler binds a claim to the node its
// first pod goes to (controller/volume_binding.h) and the node's agent keeps the data in a
// directory. Pure functions; thread-safe.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rampart::controller {

// "<template>-<set>-<ordinal>".
std::string claimName(const std::string& template_name, const std::string& set_name, int ordinal);

// The claims pod `ordinal` needs, as whole PersistentVolumeClaim objects ready to POST.
std::vector<nlohmann::json> claimsForPod(const nlohmann::json& set, int ordinal);

// Adds to `pod_spec.volumes` one persistentVolumeClaim volume per claim template (a volume of
// the template's name already in the pod template is replaced).
void attachClaims(const nlohmann::json& set, int ordinal, nlohmann::json& pod_spec);

}  // namespace rampart::controller

#pragma once
// Defaults and validation of the two storage-related kinds Rampart serves beside the
// workloads: core/v1 PersistentVolumeClaim (the per-pod volumes of StatefulSets) and apps/v1
// ControllerRevision (a StatefulSet's template revisions). Field by field as Kubernetes 1.32
// applies them (SetDefaults_PersistentVolumeClaim, ValidatePersistentVolumeClaim{,Update},
// ValidateControllerRevision{,Update}), so kubectl sees the same refusals. Pure functions;
// validation.cc calls them from applyDefaults()/validateObject().

#include <nlohmann/json_fwd.hpp>

#include "api/status.h"

namespace rampart::api {

// spec.volumeMode Filesystem, status.phase Pending (in place).
void defaultPersistentVolumeClaim(nlohmann::json& claim);

// accessModes and a storage request are required and known; on update (`old` an object) the
// spec may change only in resources.requests, and volumeName only from empty.
void validatePersistentVolumeClaim(const nlohmann::json& claim, const nlohmann::json& old,
                                   FieldErrors& errors);

// revision >= 0; data and revision-independent content immutable on update.
void validateControllerRevision(const nlohmann::json& revision, const nlohmann::json& old,
                                FieldErrors& errors);

}  // namespace rampart::api

#pragma once
// Defaults and validation of the built-in kinds, field by field as Kubernetes applies them, so
// that an invalid manifest is refused with the field named (`spec.replicas: Invalid value: -1:
// must be greater than or equal to 0`) and a stored object always has the defaults a controller
// relies on (a Deployment's strategy, a Pod's restartPolicy, ...). Pure functions.

#include <nlohmann/json_fwd.hpp>

#include "api/registry.h"
#include "api/status.h"

namespace rampart::api {

// Fills unset fields with Kubernetes' defaults (in place).
void applyDefaults(const ResourceInfo& resource, nlohmann::json& object);

// Every problem of `object` (metadata included); empty when valid. `old` is the stored object
// on update (immutable fields are compared with it), null on create.
FieldErrors validateObject(const ResourceInfo& resource, const nlohmann::json& object,
                           const nlohmann::json& old);

}  // namespace rampart::api

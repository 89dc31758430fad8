#pragma once
// The three patch types the Kubernetes API accepts on PATCH, applied to an object's JSON:
//   application/merge-patch+json            RFC 7386 (nlohmann's merge_patch)
//   application/json-patch+json             RFC 6902 (nlohmann's patch)
//   application/strategic-merge-patch+json  Kubernetes' strategic merge patch: lists of objects
//     merge by a key (containers by name, ports by containerPort, ...), with the directives
//     `$patch` (replace / delete / merge), `$retainKeys`, `$setElementOrder/<list>` and
//     `$deleteFromPrimitiveList/<list>`. kubectl's client-side apply, `kubectl patch` and
//     `kubectl edit` send it.
// Each returns the patched object or an InvalidArgument error naming the problem; the input is
// never modified. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"

namespace rampart::api {

enum class PatchType { Merge, Json, Strategic };

// From the request's Content-Type; nullopt for anything else (the server answers 415).
std::optional<PatchType> patchTypeFromContentType(const std::string& content_type);

// How a list field merges in a strategic merge patch: lists without a strategy are replaced
// whole, like any other value.
struct ListStrategy {
  bool merge = false;
  std::string merge_key;  // empty with merge: a list of primitives, merged as a set
};

// The list strategies of the built-in types, by the field's path from the object's root (list
// items add no element): {"spec","template","spec","containers"} merges by "name".
ListStrategy listStrategy(const std::vector<std::string>& path);

Result<nlohmann::json> applyPatch(PatchType type, const nlohmann::json& object,
                                  const nlohmann::json& patch);

Result<nlohmann::json> applyMergePatch(const nlohmann::json& object, const nlohmann::json& patch);
Result<nlohmann::json> applyJsonPatch(const nlohmann::json& object, const nlohmann::json& patch);
Result<nlohmann::json> applyStrategicMergePatch(const nlohmann::json& object,
                                                const nlohmann::json& patch);

}  // namespace rampart::api

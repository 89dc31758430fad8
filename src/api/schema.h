#pragma once
// The schema of every served type, as OpenAPI v3 component schemas named as Kubernetes names
// them ("io.k8s.api.apps.v1.Deployment"): properties with type/format, descriptions, required
// fields, `$ref`s (wrapped in allOf, as kube-apiserver writes them), and the extensions kubectl
// and strategic merge patch read (x-kubernetes-group-version-kind, -list-type, -list-map-keys,
// -patch-strategy, -patch-merge-key, -int-or-string).
//
// The source is a compact data file per area (src/api/schema/*.json), embedded at build time
// by cmake/EmbedText.cmake and expanded once on first use. Each entry maps a definition name
// to its fields; a field is `TYPE FLAGS | description`:
//   TYPE   string int32 int64 bool double byte, a definition's last name segment (Container),
//          []TYPE (array), {}TYPE (map with string keys)
//   FLAGS  ! (required), atomic, set, map=k1,k2 (list types), patch=merge|retainKeys|replace|
//          merge,retainKeys, key=k (patch merge key), enum=A,B
// and the keys starting with '@' say what the definition is: "@" its description, "@kind"
// "apps/v1/Deployment" (adds apiVersion, kind, metadata and the GVK; a served kind also gets its
// <Kind>List), "@gvk": "all" (the GVK in every served group version: Status, DeleteOptions,
// WatchEvent), "@type" for scalar types (time, quantity, int-or-string, object) and
// "@extends" (copies another definition's fields first).
// Thread-safe after the first call (a function-local static of compiled-in data).

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"

namespace rampart::api {

inline constexpr std::string_view kSchemaRefPrefix = "#/components/schemas/";

// components.schemas of every type. Aborts on a broken data file (a bug, caught by the tests).
const nlohmann::json& schemaDefinitions();

// Expands the compact data files; InvalidArgument naming the definition and the field at fault
// (bad spec, unknown or ambiguous reference).
Result<nlohmann::json> buildSchemaDefinitions(const std::vector<std::string_view>& sources);

// The definition name of a kind: ("apps", "v1", "Deployment") → "io.k8s.api.apps.v1.Deployment";
// empty when no definition carries that GVK.
std::string schemaNameOf(std::string_view group, std::string_view version, std::string_view kind);

// The schema a property stands for: follows an allOf wrapper and a $ref into
// schemaDefinitions(). Returns `schema` itself when it is neither. The reference stays valid.
const nlohmann::json& resolveSchema(const nlohmann::json& schema);

// Every group/version served, with its document path ("api/v1", "apis/apps/v1").
struct ServedGroupVersion {
  std::string group;
  std::string version;
  std::string path;
};
std::vector<ServedGroupVersion> servedGroupVersions();

}  // namespace rampart::api

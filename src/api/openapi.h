#pragma once
// The OpenAPI v3 documents kube-apiserver serves, built from schemaDefinitions() and the
// resource registry:
//   GET /openapi/v3            the index: {"paths": {"api/v1": {"serverRelativeURL":
//                              "/openapi/v3/api/v1?hash=<hash of the document>"}, ...}}
//   GET /openapi/v3/api/v1     one group/version: its paths (every operation of every resource
//   GET /openapi/v3/apis/apps/v1  and subresource, with its query parameters and
//                              x-kubernetes-group-version-kind / -action) and components.schemas
//                              holding every definition those operations reach.
// kubectl reads them for `kubectl explain` (the GVK of a resource's path, then the component
// carrying it), for `kubectl apply` (the PATCH operation must accept
// application/strategic-merge-patch+json; the list/patch extensions of the component steer the
// three-way merge) and for field validation (the PATCH operation's `fieldValidation` query
// parameter tells it the server validates fields). /openapi/v2 is not served (404), as on a
// kube-apiserver whose v2 endpoint is off; see docs/ARCHITECTURE.md for what that costs.
// Built once on first use; immutable; thread-safe afterwards.

#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace rampart::api {

const nlohmann::json& openApiIndex();

// The document of one group/version by its index path ("api/v1", "apis/apps/v1"); nullptr when
// that group/version is not served.
const nlohmann::json* openApiDocument(std::string_view group_version_path);

}  // namespace rampart::api

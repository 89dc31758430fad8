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
// parameter tells it the server validates fields). Review kinds (SelfSubjectReview) appear in
// their group's document with their POST, so `kubectl explain selfsubjectreviews` works.
//   GET /openapi/v2            a Swagger 2.0 document with no paths and no definitions, as
//                              protobuf (gnostic's openapi_v2.Document) when asked for, else
//                              JSON. kubectl validates a `kind: List` manifest client-side (its
//                              OpenAPI v3 check of server-side validation excludes List) and
//                              needs this document to parse; it finds no definition for the
//                              items and leaves them to the server, which validates each item
//                              it is sent (fieldValidation=Strict) against the same schemas.
// Built once on first use; immutable; thread-safe afterwards.

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace rampart::api {

const nlohmann::json& openApiIndex();

// What kube-openapi answers to kubectl's Accept of
// application/com.github.proto-openapi.spec.v2@v1.0+protobuf: the same with '.' for '@', since
// Go's mime.ParseMediaType (client-go checks the answer's type) refuses the '@'.
inline constexpr std::string_view kOpenApiV2ProtobufType =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
const nlohmann::json& openApiV2Json();
// openApiV2Json() encoded as gnostic's openapi_v2.Document.
const std::string& openApiV2Protobuf();

// The document of one group/version by its index path ("api/v1", "apis/apps/v1"); nullptr when
// that group/version is not served.
const nlohmann::json* openApiDocument(std::string_view group_version_path);

}  // namespace rampart::api

#pragma once
// The catalogue of resources the API server serves: for each, its group/version/kind, the plural
// used in URLs, whether it lives in a namespace, short names and categories (`kubectl get po`,
// `kubectl get all`), verbs and subresources. Discovery documents (`/api`, `/apis`,
// `/api/v1`, `/apis/<group>/<version>`) are built from it, so what kubectl discovers is exactly
// what the server routes. Immutable after start; thread-safe.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace rampart::api {

struct Subresource {
  std::string name;   // "status", "scale", "binding", "eviction", "log"
  std::string kind;   // the kind it takes or returns ("Scale", "Binding", "Eviction", "Pod")
  std::string group;  // that kind's group and version when they differ from the resource's
  std::string version;
  std::vector<std::string> verbs;
};

struct ResourceInfo {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
  std::string plural;
  std::string singular;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> verbs;
  std::vector<Subresource> subresources;

  // "v1" or "apps/v1".
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  const Subresource* subresource(const std::string& name) const;
};

const std::vector<ResourceInfo>& builtinResources();
// Resources that are never stored, only created and answered at once (authentication.k8s.io/v1
// SelfSubjectReview): discovery lists them, the handler serves them; they have no list, watch,
// schema or OpenAPI document.
const std::vector<ResourceInfo>& reviewResources();
const ResourceInfo* findReview(const std::string& group, const std::string& version,
                               const std::string& plural);

// By URL parts: find("apps", "v1", "deployments").
const ResourceInfo* findResource(const std::string& group, const std::string& version,
                                 const std::string& plural);
// By apiVersion and kind, as a manifest names it: findKind("apps/v1", "Deployment").
const ResourceInfo* findKind(const std::string& api_version, const std::string& kind);

// The legacy (unaggregated) discovery documents.
nlohmann::json apiVersions();   // GET /api
nlohmann::json apiGroupList();  // GET /apis
// GET /api/v1 or /apis/<group>/<version>; nullopt for a group/version not served.
std::optional<nlohmann::json> apiResourceList(const std::string& group, const std::string& version);
// GET /apis/<group>: the group's versions; nullopt for a group not served.
std::optional<nlohmann::json> apiGroup(const std::string& group);

}  // namespace rampart::api

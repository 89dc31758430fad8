#pragma once
// Where the API serves each resource Rampart's components read and write, and the small helpers
// every controller needs around those paths: an object's cache key ("namespace/name", or "name"
// for cluster-scoped objects), query escaping, and the ownerReference that marks an object's
// controller. Pure values and functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "api/selector.h"

namespace rampart::kube {

struct Resource {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  bool namespaced = true;

  // "/api/v1/namespaces/default/pods" ("" namespace of a namespaced resource: every namespace).
  std::string collection(std::string_view ns = "") const;
  // "/api/v1/namespaces/default/pods/web-1", with an optional subresource ("status").
  std::string object(std::string_view ns, std::string_view name,
                     std::string_view subresource = "") const;
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
};

namespace resources {
extern const Resource kPods;
extern const Resource kNodes;
extern const Resource kServices;
extern const Resource kConfigMaps;
extern const Resource kSecrets;
extern const Resource kEndpoints;
extern const Resource kEvents;
extern const Resource kReplicaSets;
extern const Resource kDeployments;
extern const Resource kStatefulSets;
extern const Resource kPodDisruptionBudgets;
extern const Resource kLeases;
extern const Resource kPersistentVolumeClaims;
extern const Resource kControllerRevisions;
}  // namespace resources

// "ns/name" for namespaced objects, "name" otherwise (client-go's MetaNamespaceKeyFunc).
std::string keyOf(const nlohmann::json& object);
std::string makeKey(std::string_view ns, std::string_view name);
// Splits a key into namespace ("" for cluster-scoped) and name.
std::pair<std::string, std::string> splitKey(std::string_view key);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string queryEscape(std::string_view text);

// The ownerReference with controller=true, if any.
std::optional<nlohmann::json> controllerRef(const nlohmann::json& object);

// An object's metadata.labels (string values only; empty when absent).
api::Labels labelsOf(const nlohmann::json& object);

}  // namespace rampart::kube

#include "api/registry.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace rampart::api {
using json = nlohmann::json;

namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};
const std::vector<std::string> kStatusVerbs = {"get", "patch", "update"};

ResourceInfo resource(std::string group, std::string kind, std::string plural, bool namespaced,
                      std::vector<std::string> short_names,
                      std::vector<std::string> categories = {},
                      std::vector<Subresource> subresources = {}) {
  ResourceInfo r;
  r.group = std::move(group);
  r.version = "v1";
  r.kind = std::move(kind);
  r.plural = std::move(plural);
  r.singular = r.kind;
  std::transform(r.singular.begin(), r.singular.end(), r.singular.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  r.namespaced = namespaced;
  r.short_names = std::move(short_names);
  r.categories = std::move(categories);
  r.verbs = kAllVerbs;
  r.subresources = std::move(subresources);
  return r;
}

Subresource status(const std::string& kind) { return {"status", kind, "", "", kStatusVerbs}; }
Subresource scale() { return {"scale", "Scale", "autoscaling", "v1", kStatusVerbs}; }

std::vector<ResourceInfo> makeCatalogue() {
  std::vector<ResourceInfo> all;
  all.push_back(resource("", "Namespace", "namespaces", false, {"ns"}, {}, {status("Namespace")}));
  all.back().verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
  all.push_back(resource("", "Node", "nodes", false, {"no"}, {}, {status("Node")}));
  all.push_back(resource("", "Pod", "pods", true, {"po"}, {"all"},
                         {status("Pod"),
                          {"binding", "Binding", "", "", {"create"}},
                          {"eviction", "Eviction", "policy", "v1", {"create"}},
                          {"log", "Pod", "", "", {"get"}}}));
  all.push_back(resource("", "Service", "services", true, {"svc"}, {"all"}, {status("Service")}));
  all.push_back(resource("", "Endpoints", "endpoints", true, {"ep"}));
  all.back().singular = "endpoints";
  all.push_back(resource("", "Event", "events", true, {"ev"}));
  all.push_back(resource("", "ConfigMap", "configmaps", true, {"cm"}));
  all.push_back(resource("", "Secret", "secrets", true, {}));
  all.push_back(resource("", "PersistentVolumeClaim", "persistentvolumeclaims", true, {"pvc"}, {},
                         {status("PersistentVolumeClaim")}));
  all.push_back(resource("apps", "Deployment", "deployments", true, {"deploy"}, {"all"},
                         {status("Deployment"), scale()}));
  all.push_back(resource("apps", "ReplicaSet", "replicasets", true, {"rs"}, {"all"},
                         {status("ReplicaSet"), scale()}));
  all.push_back(resource("apps", "StatefulSet", "statefulsets", true, {"sts"}, {"all"},
                         {status("StatefulSet"), scale()}));
  all.push_back(resource("apps", "ControllerRevision", "controllerrevisions", true, {}));
  all.push_back(resource("policy", "PodDisruptionBudget", "poddisruptionbudgets", true, {"pdb"}, {},
                         {status("PodDisruptionBudget")}));
  all.push_back(resource("coordination.k8s.io", "Lease", "leases", true, {}));
  // Rampart's own kinds (issue 18): databases the database controller runs as pods.
  all.push_back(resource("rampart.io", "PostgresCluster", "postgresclusters", true, {"pgc"},
                         {"rampart"}, {status("PostgresCluster")}));
  all.push_back(resource("rampart.io", "RedisCluster", "redisclusters", true, {"rdc"},
                         {"rampart"}, {status("RedisCluster")}));
  return all;
}

std::vector<ResourceInfo> makeReviews() {
  std::vector<ResourceInfo> all;
  all.push_back(resource("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews",
                         false, {}));
  all.back().verbs = {"create"};
  return all;
}

// Stored resources, then reviews: what discovery lists.
std::vector<const ResourceInfo*> discoverable() {
  std::vector<const ResourceInfo*> all;
  for (const auto& r : builtinResources()) {
    all.push_back(&r);
  }
  for (const auto& r : reviewResources()) {
    all.push_back(&r);
  }
  return all;
}

// Groups in the order discovery lists them (kubectl prefers earlier groups for a bare kind).
std::vector<std::string> groupOrder() {
  std::vector<std::string> groups;
  for (const ResourceInfo* r : discoverable()) {
    if (!r->group.empty() && std::find(groups.begin(), groups.end(), r->group) == groups.end()) {
      groups.push_back(r->group);
    }
  }
  return groups;
}

json groupJson(const std::string& group) {
  json gv = {{"groupVersion", group + "/v1"}, {"version", "v1"}};
  return {{"name", group}, {"versions", json::array({gv})}, {"preferredVersion", gv}};
}

}  // namespace

const Subresource* ResourceInfo::subresource(const std::string& name) const {
  for (const auto& s : subresources) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

const std::vector<ResourceInfo>& builtinResources() {
  static const std::vector<ResourceInfo> catalogue = makeCatalogue();
  return catalogue;
}

const std::vector<ResourceInfo>& reviewResources() {
  static const std::vector<ResourceInfo> reviews = makeReviews();
  return reviews;
}

const ResourceInfo* findReview(const std::string& group, const std::string& version,
                               const std::string& plural) {
  for (const auto& r : reviewResources()) {
    if (r.group == group && r.version == version && r.plural == plural) {
      return &r;
    }
  }
  return nullptr;
}

const ResourceInfo* findResource(const std::string& group, const std::string& version,
                                 const std::string& plural) {
  for (const auto& r : builtinResources()) {
    if (r.group == group && r.version == version && r.plural == plural) {
      return &r;
    }
  }
  return nullptr;
}

const ResourceInfo* findKind(const std::string& api_version, const std::string& kind) {
  for (const auto& r : builtinResources()) {
    if (r.apiVersion() == api_version && r.kind == kind) {
      return &r;
    }
  }
  return nullptr;
}

json apiVersions() {
  return {{"kind", "APIVersions"},
          {"versions", json::array({"v1"})},
          {"serverAddressByClientCIDRs", json::array()}};
}

json apiGroupList() {
  json groups = json::array();
  for (const auto& g : groupOrder()) {
    groups.push_back(groupJson(g));
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

std::optional<json> apiGroup(const std::string& group) {
  auto groups = groupOrder();
  if (std::find(groups.begin(), groups.end(), group) == groups.end()) {
    return std::nullopt;
  }
  json g = groupJson(group);
  g["kind"] = "APIGroup";
  g["apiVersion"] = "v1";
  return g;
}

std::optional<json> apiResourceList(const std::string& group, const std::string& version) {
  json resources = json::array();
  for (const ResourceInfo* resource : discoverable()) {
    const ResourceInfo& r = *resource;
    if (r.group != group || r.version != version) {
      continue;
    }
    json entry = {{"name", r.plural},
                  {"singularName", r.singular},
                  {"namespaced", r.namespaced},
                  {"kind", r.kind},
                  {"verbs", r.verbs}};
    if (!r.short_names.empty()) {
      entry["shortNames"] = r.short_names;
    }
    if (!r.categories.empty()) {
      entry["categories"] = r.categories;
    }
    resources.push_back(entry);
    for (const auto& s : r.subresources) {
      json sub = {{"name", r.plural + "/" + s.name},
                  {"singularName", ""},
                  {"namespaced", r.namespaced},
                  {"kind", s.kind},
                  {"verbs", s.verbs}};
      if (!s.group.empty()) {
        sub["group"] = s.group;
        sub["version"] = s.version;
      }
      resources.push_back(sub);
    }
  }
  if (resources.empty()) {
    return std::nullopt;
  }
  return json{{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", group.empty() ? version : group + "/" + version},
              {"resources", resources}};
}

}  // namespace rampart::api

#include "kube/resources.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "base/hex.h"

namespace rampart::kube {
using json = nlohmann::json;

std::string Resource::collection(std::string_view ns) const {
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += ns;
  }
  return path + "/" + plural;
}

std::string Resource::object(std::string_view ns, std::string_view name,
                             std::string_view subresource) const {
  std::string path = collection(namespaced ? ns : "") + "/" + std::string(name);
  if (!subresource.empty()) {
    path += "/";
    path += subresource;
  }
  return path;
}

namespace resources {
const Resource kPods{"", "v1", "pods", true};
const Resource kNodes{"", "v1", "nodes", false};
const Resource kServices{"", "v1", "services", true};
const Resource kConfigMaps{"", "v1", "configmaps", true};
const Resource kSecrets{"", "v1", "secrets", true};
const Resource kEndpoints{"", "v1", "endpoints", true};
const Resource kEvents{"", "v1", "events", true};
const Resource kReplicaSets{"apps", "v1", "replicasets", true};
const Resource kDeployments{"apps", "v1", "deployments", true};
const Resource kStatefulSets{"apps", "v1", "statefulsets", true};
const Resource kPodDisruptionBudgets{"policy", "v1", "poddisruptionbudgets", true};
const Resource kLeases{"coordination.k8s.io", "v1", "leases", true};
const Resource kPersistentVolumeClaims{"", "v1", "persistentvolumeclaims", true};
const Resource kControllerRevisions{"apps", "v1", "controllerrevisions", true};
}  // namespace resources

std::string makeKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) {
    return std::string(name);
  }
  std::string key(ns);
  key += '/';
  key += name;
  return key;
}

std::string keyOf(const json& object) {
  const json empty = json::object();
  const json& meta = object.contains("metadata") ? object["metadata"] : empty;
  return makeKey(meta.value("namespace", std::string()), meta.value("name", std::string()));
}

std::pair<std::string, std::string> splitKey(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) {
    return {"", std::string(key)};
  }
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

std::string queryEscape(std::string_view text) { return percentEncode(text); }

std::optional<json> controllerRef(const json& object) {
  if (!object.contains("/metadata/ownerReferences"_json_pointer)) {
    return std::nullopt;
  }
  const json& refs = object["/metadata/ownerReferences"_json_pointer];
  if (!refs.is_array()) {
    return std::nullopt;
  }
  for (const auto& ref : refs) {
    if (ref.is_object() && ref.value("controller", false)) {
      return ref;
    }
  }
  return std::nullopt;
}

api::Labels labelsOf(const json& object) {
  api::Labels labels;
  if (object.contains("/metadata/labels"_json_pointer) &&
      object["/metadata/labels"_json_pointer].is_object()) {
    for (const auto& [k, v] : object["/metadata/labels"_json_pointer].items()) {
      if (v.is_string()) {
        labels[k] = v.get<std::string>();
      }
    }
  }
  return labels;
}

}  // namespace rampart::kube

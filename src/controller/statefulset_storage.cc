#include "controller/statefulset_storage.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;

std::string str(const json& object, const json::json_pointer& at) {
  return object.contains(at) && object[at].is_string() ? object[at].get<std::string>() : "";
}

const json& templates(const json& set) {
  static const json empty = json::array();
  const auto at = "/spec/volumeClaimTemplates"_json_pointer;
  return set.contains(at) && set[at].is_array() ? set[at] : empty;
}

}  // namespace

std::string claimName(const std::string& template_name, const std::string& set_name, int ordinal) {
  return template_name + "-" + set_name + "-" + std::to_string(ordinal);
}

std::vector<json> claimsForPod(const json& set, int ordinal) {
  std::vector<json> claims;
  std::string set_name = str(set, "/metadata/name"_json_pointer);
  bool delete_with_set =
      str(set, "/spec/persistentVolumeClaimRetentionPolicy/whenDeleted"_json_pointer) == "Delete";
  for (const auto& t : templates(set)) {
    std::string name = str(t, "/metadata/name"_json_pointer);
    if (name.empty()) {
      continue;
    }
    // Kubernetes: the template's labels, then the set's matchLabels over them.
    json labels = t.value("/metadata/labels"_json_pointer, json::object());
    const json match_labels = set.value("/spec/selector/matchLabels"_json_pointer, json::object());
    for (const auto& [key, value] : match_labels.items()) {
      labels[key] = value;
    }
    json meta = {{"name", claimName(name, set_name, ordinal)},
                 {"namespace", str(set, "/metadata/namespace"_json_pointer)}};
    if (!labels.empty()) {
      meta["labels"] = labels;
    }
    if (t.contains("/metadata/annotations"_json_pointer)) {
      meta["annotations"] = t["/metadata/annotations"_json_pointer];
    }
    if (delete_with_set) {
      meta["ownerReferences"] = json::array({{{"apiVersion", "apps/v1"},
                                              {"kind", "StatefulSet"},
                                              {"name", set_name},
                                              {"uid", str(set, "/metadata/uid"_json_pointer)},
                                              {"blockOwnerDeletion", true}}});
    }
    claims.push_back({{"apiVersion", "v1"},
                      {"kind", "PersistentVolumeClaim"},
                      {"metadata", std::move(meta)},
                      {"spec", t.value("spec", json::object())}});
  }
  return claims;
}

void attachClaims(const json& set, int ordinal, json& pod_spec) {
  std::string set_name = str(set, "/metadata/name"_json_pointer);
  for (const auto& t : templates(set)) {
    std::string name = str(t, "/metadata/name"_json_pointer);
    if (name.empty()) {
      continue;
    }
    if (!pod_spec.contains("volumes") || !pod_spec["volumes"].is_array()) {
      pod_spec["volumes"] = json::array();
    }
    json volume = {{"name", name},
                   {"persistentVolumeClaim", {{"claimName", claimName(name, set_name, ordinal)}}}};
    json& volumes = pod_spec["volumes"];
    bool replaced = false;
    for (auto& v : volumes) {
      if (v.is_object() && v.value("name", "") == name) {
        v = volume;
        replaced = true;
      }
    }
    if (!replaced) {
      volumes.push_back(std::move(volume));
    }
  }
}

}  // namespace rampart::controller

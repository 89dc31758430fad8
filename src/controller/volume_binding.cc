#include "controller/volume_binding.h"

#include <algorithm>

namespace rampart::controller {
namespace {
using json = nlohmann::json;

std::string str(const json& object, const json::json_pointer& at) {
  return object.contains(at) && object[at].is_string() ? object[at].get<std::string>() : "";
}

constexpr const char* kAffinityReason = "node(s) didn't match Pod's node affinity/selector";
constexpr const char* kConflictReason = "node(s) had volume node affinity conflict";

}  // namespace

std::string claimNode(const json& claim) {
  const auto at = json::json_pointer("/metadata/annotations") / kSelectedNodeAnnotation;
  return str(claim, at);
}

PodClaims podClaims(const json& pod, const ClaimLookup& claim) {
  PodClaims out;
  std::string ns = str(pod, "/metadata/namespace"_json_pointer);
  const auto at = "/spec/volumes"_json_pointer;
  if (!pod.contains(at) || !pod[at].is_array()) {
    return out;
  }
  for (const auto& volume : pod[at]) {
    std::string name = str(volume, "/persistentVolumeClaim/claimName"_json_pointer);
    if (name.empty()) {
      continue;
    }
    const json* c = claim(ns, name);
    if (c == nullptr) {
      out.error = "persistentvolumeclaim \"" + name + "\" not found";
      return out;
    }
    if (c->contains("/metadata/deletionTimestamp"_json_pointer)) {
      out.error = "persistentvolumeclaim \"" + name + "\" is being deleted";
      return out;
    }
    std::string node = claimNode(*c);
    // Pinned but not yet Bound (a scheduler stopped between the two writes): written again.
    if (node.empty() || str(*c, "/status/phase"_json_pointer) != "Bound") {
      out.unbound.push_back(name);
    }
    if (node.empty()) {
      continue;
    }
    if (out.node.empty()) {
      out.node = node;
    } else if (out.node != node) {
      out.error = "persistentvolumeclaims of the pod are bound to different nodes (" + out.node +
                  ", " + node + ")";
      return out;
    }
  }
  return out;
}

json pinnedToNode(const json& pod, const std::string& node) {
  json pinned = pod;
  json requirement = {{"key", "metadata.name"}, {"operator", "In"}, {"values", {node}}};
  json& terms = pinned["spec"]["affinity"]["nodeAffinity"]
                      ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
  if (!terms.is_array() || terms.empty()) {
    terms = json::array({{{"matchFields", json::array({requirement})}}});
    return pinned;
  }
  for (auto& term : terms) {
    if (!term.is_object()) {
      term = json::object();
    }
    if (!term.contains("matchFields") || !term["matchFields"].is_array()) {
      term["matchFields"] = json::array();
    }
    term["matchFields"].push_back(requirement);
  }
  return pinned;
}

std::string volumeConflictMessage(const json& pod, const std::string& message) {
  bool own =
      pod.contains("/spec/nodeSelector"_json_pointer) ||
      pod.contains(
          "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution"_json_pointer);
  std::string out = message;
  if (own) {
    return out;
  }
  std::string from = kAffinityReason;
  if (auto at = out.find(from); at != std::string::npos) {
    out.replace(at, from.size(), kConflictReason);
  }
  return out;
}

bool claimReleasable(const json& claim, const std::vector<const json*>& pods) {
  if (!claim.contains("/metadata/deletionTimestamp"_json_pointer)) {
    return false;
  }
  const json finalizers = claim.value("/metadata/finalizers"_json_pointer, json::array());
  if (std::find(finalizers.begin(), finalizers.end(), kClaimProtectionFinalizer) ==
      finalizers.end()) {
    return false;
  }
  std::string ns = str(claim, "/metadata/namespace"_json_pointer);
  std::string name = str(claim, "/metadata/name"_json_pointer);
  for (const json* pod : pods) {
    std::string phase = str(*pod, "/status/phase"_json_pointer);
    if (str(*pod, "/metadata/namespace"_json_pointer) != ns || phase == "Succeeded" ||
        phase == "Failed" || !pod->contains("/spec/volumes"_json_pointer)) {
      continue;
    }
    for (const auto& volume : (*pod)["/spec/volumes"_json_pointer]) {
      if (str(volume, "/persistentVolumeClaim/claimName"_json_pointer) == name) {
        return false;
      }
    }
  }
  return true;
}

json claimReleasePatch(const json& claim) {
  json kept = json::array();
  for (const auto& f : claim.value("/metadata/finalizers"_json_pointer, json::array())) {
    if (f != kClaimProtectionFinalizer) {
      kept.push_back(f);
    }
  }
  return {{"metadata",
           {{"finalizers", kept},
            {"resourceVersion", str(claim, "/metadata/resourceVersion"_json_pointer)}}}};
}

json claimBindPatch(const json& claim, const std::string& node) {
  json patch = {{"metadata", {{"annotations", {{kSelectedNodeAnnotation, node}}}}}};
  if (str(claim, "/spec/volumeName"_json_pointer).empty()) {
    patch["spec"]["volumeName"] = "pvc-" + str(claim, "/metadata/uid"_json_pointer);
  }
  return patch;
}

json claimBoundStatus(const json& claim) {
  json status = {{"phase", "Bound"}};
  if (claim.contains("/spec/accessModes"_json_pointer)) {
    status["accessModes"] = claim["/spec/accessModes"_json_pointer];
  }
  if (claim.contains("/spec/resources/requests/storage"_json_pointer)) {
    status["capacity"] = {{"storage", claim["/spec/resources/requests/storage"_json_pointer]}};
  }
  return {{"status", std::move(status)}};
}

}  // namespace rampart::controller

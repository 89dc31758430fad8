#include "controller/statefulset.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "controller/statefulset_storage.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;

std::string str(const json& object, const json::json_pointer& at) {
  return object.contains(at) && object[at].is_string() ? object[at].get<std::string>() : "";
}

int64_t integer(const json& object, const json::json_pointer& at, int64_t fallback) {
  return object.contains(at) && object[at].is_number_integer() ? object[at].get<int64_t>()
                                                               : fallback;
}

bool terminating(const json& pod) {
  return pod.contains("/metadata/deletionTimestamp"_json_pointer) &&
         !pod["/metadata/deletionTimestamp"_json_pointer].is_null();
}

bool runningAndReady(const json& pod) {
  if (terminating(pod) || str(pod, "/status/phase"_json_pointer) != "Running") {
    return false;
  }
  if (pod.contains("/status/conditions"_json_pointer)) {
    for (const auto& c : pod["/status/conditions"_json_pointer]) {
      if (c.value("type", "") == "Ready") {
        return c.value("status", "") == "True";
      }
    }
  }
  return false;
}

json ownerReference(const json& set) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"name", str(set, "/metadata/name"_json_pointer)},
          {"uid", str(set, "/metadata/uid"_json_pointer)},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

json newPod(const json& set, int ordinal, const std::string& revision) {
  std::string set_name = str(set, "/metadata/name"_json_pointer);
  std::string name = set_name + "-" + std::to_string(ordinal);
  json meta = {{"name", name},
               {"namespace", str(set, "/metadata/namespace"_json_pointer)},
               {"ownerReferences", json::array({ownerReference(set)})}};
  json labels = json::object();
  if (set.contains("/spec/template/metadata/labels"_json_pointer)) {
    labels = set["/spec/template/metadata/labels"_json_pointer];
  }
  labels[kStatefulSetPodNameLabel] = name;
  labels[kPodIndexLabel] = std::to_string(ordinal);
  labels[kRevisionLabel] = revision;
  meta["labels"] = std::move(labels);
  if (set.contains("/spec/template/metadata/annotations"_json_pointer)) {
    meta["annotations"] = set["/spec/template/metadata/annotations"_json_pointer];
  }
  json spec = set.value("/spec/template/spec"_json_pointer, json::object());
  spec["hostname"] = name;
  attachClaims(set, ordinal, spec);
  std::string service = str(set, "/spec/serviceName"_json_pointer);
  if (!service.empty()) {
    spec["subdomain"] = service;
  }
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(meta)}, {"spec", spec}};
}

}  // namespace

std::string templateRevision(const json& set) {
  // FNV-1a over the template as stored: equal templates give equal revisions.
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : set.value("/spec/template"_json_pointer, json::object()).dump()) {
    hash = (hash ^ c) * 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%010llx",
                static_cast<unsigned long long>(hash & 0xffffffffffULL));
  return str(set, "/metadata/name"_json_pointer) + "-" + hex;
}

int ordinalOf(const std::string& set_name, const std::string& pod_name) {
  if (pod_name.size() <= set_name.size() + 1 || pod_name.compare(0, set_name.size(), set_name) != 0 ||
      pod_name[set_name.size()] != '-') {
    return -1;
  }
  std::string digits = pod_name.substr(set_name.size() + 1);
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      (digits.size() > 1 && digits[0] == '0')) {
    return -1;
  }
  return std::stoi(digits);
}

StatefulSetDecision decideStatefulSet(const json& set, const std::vector<json>& pods) {
  StatefulSetDecision d;
  std::string name = str(set, "/metadata/name"_json_pointer);
  int64_t replicas = std::max<int64_t>(0, integer(set, "/spec/replicas"_json_pointer, 1));
  int64_t start = std::max<int64_t>(0, integer(set, "/spec/ordinals/start"_json_pointer, 0));
  bool ordered = str(set, "/spec/podManagementPolicy"_json_pointer) != "Parallel";
  bool rolling = str(set, "/spec/updateStrategy/type"_json_pointer) != "OnDelete";
  int64_t partition =
      integer(set, "/spec/updateStrategy/rollingUpdate/partition"_json_pointer, 0);
  std::string update_revision = templateRevision(set);
  bool deleting_set = set.contains("/metadata/deletionTimestamp"_json_pointer) &&
                      !set["/metadata/deletionTimestamp"_json_pointer].is_null();

  std::map<int, const json*> in_range;          // ordinal → pod
  std::vector<std::pair<int, const json*>> condemned;  // outside the range
  for (const auto& pod : pods) {
    int ordinal = ordinalOf(name, str(pod, "/metadata/name"_json_pointer));
    if (ordinal >= start && ordinal < start + replicas) {
      in_range[ordinal] = &pod;
    } else {
      condemned.emplace_back(ordinal, &pod);
    }
  }
  std::sort(condemned.begin(), condemned.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });

  bool blocked = deleting_set;  // an ordered step is waiting for an earlier pod
  std::string why = deleting_set ? "being deleted" : "";
  for (int64_t i = start; i < start + replicas && !deleting_set; ++i) {
    auto it = in_range.find(static_cast<int>(i));
    if (it == in_range.end()) {
      if (!blocked || !ordered) {
        d.create.push_back(newPod(set, static_cast<int>(i), update_revision));
      }
      if (ordered) {
        blocked = true;
        why = why.empty() ? "creating " + name + "-" + std::to_string(i) : why;
      }
      continue;
    }
    const json& pod = *it->second;
    if (!terminating(pod) && str(pod, "/status/phase"_json_pointer) == "Failed") {
      if (!blocked || !ordered) {
        d.remove.push_back(str(pod, "/metadata/name"_json_pointer));  // made again next time
      }
      blocked = blocked || ordered;
      continue;
    }
    if (ordered && !runningAndReady(pod)) {
      blocked = true;
      why = why.empty() ? "waiting for " + str(pod, "/metadata/name"_json_pointer) + " to be Ready"
                        : why;
    }
  }

  // Scale down: highest ordinal first; ordered sets one at a time, once the rest is Ready.
  bool any_terminating = std::any_of(pods.begin(), pods.end(),
                                     [](const json& p) { return terminating(p); });
  if (!deleting_set) {
    for (const auto& [ordinal, pod] : condemned) {
      if (terminating(*pod)) {
        if (ordered) {
          break;  // wait for it to go
        }
        continue;
      }
      if (ordered && (blocked || any_terminating)) {
        break;
      }
      d.remove.push_back(str(*pod, "/metadata/name"_json_pointer));
      if (ordered) {
        blocked = true;
        why = "scaling down";
        break;
      }
    }
  }

  // Rolling update: from the highest ordinal down to the partition, one pod at a time, only
  // while every pod is there and Ready.
  if (rolling && !blocked && !any_terminating && d.create.empty() && d.remove.empty() &&
      !deleting_set) {
    for (int64_t i = start + replicas - 1; i >= std::max(start, partition); --i) {
      auto it = in_range.find(static_cast<int>(i));
      if (it != in_range.end() &&
          str(*it->second, "/metadata/labels/controller-revision-hash"_json_pointer) !=
              update_revision) {
        d.remove.push_back(str(*it->second, "/metadata/name"_json_pointer));
        why = "updating " + str(*it->second, "/metadata/name"_json_pointer);
        break;
      }
    }
  }

  // Status, from the pods as they are.
  int64_t count = 0, ready = 0, current = 0, updated = 0;
  std::string current_revision = str(set, "/status/currentRevision"_json_pointer);
  if (current_revision.empty()) {
    current_revision = update_revision;
  }
  for (const auto& pod : pods) {
    if (terminating(pod)) {
      continue;
    }
    ++count;
    ready += runningAndReady(pod) ? 1 : 0;
    std::string revision = str(pod, "/metadata/labels/controller-revision-hash"_json_pointer);
    current += revision == current_revision ? 1 : 0;
    updated += revision == update_revision ? 1 : 0;
  }
  if (updated == replicas && count == replicas) {
    current_revision = update_revision;  // the rollout is complete
    current = updated;
  }
  d.status = {{"observedGeneration", integer(set, "/metadata/generation"_json_pointer, 0)},
              {"replicas", count},
              {"readyReplicas", ready},
              {"availableReplicas", ready},
              {"currentReplicas", current},
              {"updatedReplicas", updated},
              {"currentRevision", current_revision},
              {"updateRevision", update_revision},
              {"collisionCount", 0}};
  d.reason = why.empty() ? "steady" : why;
  return d;
}

}  // namespace rampart::controller

#include "agent/pod_status.h"

namespace rampart::agent {
using json = nlohmann::json;

namespace {

std::string conditionStatus(const json& status, const std::string& type) {
  const json* conditions =
      status.is_object() && status.contains("conditions") ? &status["conditions"] : nullptr;
  if (conditions == nullptr || !conditions->is_array()) {
    return "";
  }
  for (const auto& c : *conditions) {
    if (c.is_object() && c.value("type", "") == type) {
      return c.value("status", "");
    }
  }
  return "";
}

// The condition's lastTransitionTime if it already had `status`, else `now`: a transition
// time moves only when the status does.
std::string transitionTime(const json& old_status, const std::string& type,
                           const std::string& status, const std::string& now) {
  if (old_status.is_object() && old_status.contains("conditions") &&
      old_status["conditions"].is_array()) {
    for (const auto& c : old_status["conditions"]) {
      if (c.is_object() && c.value("type", "") == type && c.value("status", "") == status &&
          c.contains("lastTransitionTime") && c["lastTransitionTime"].is_string()) {
        return c["lastTransitionTime"].get<std::string>();
      }
    }
  }
  return now;
}

bool isRunningAndReady(const json& pod, const PodPlacement& placement) {
  const json& status = pod.contains("status") ? pod["status"] : json();
  return status.is_object() && status.value("phase", "") == "Running" &&
         conditionStatus(status, "Ready") == "True" &&
         status.value("podIP", "") == placement.pod_ip &&
         status.value("hostIP", "") == placement.host_ip;
}

// requests/limits of a container as {resource: quantity text}.
json resourcesOf(const json& container, const char* which) {
  if (container.is_object() && container.contains("resources") &&
      container["resources"].is_object() && container["resources"].contains(which) &&
      container["resources"][which].is_object()) {
    return container["resources"][which];
  }
  return json::object();
}

}  // namespace

std::string podKey(const json& pod) {
  return pod.value("/metadata/namespace"_json_pointer, std::string()) + "/" +
         pod.value("/metadata/name"_json_pointer, std::string());
}

std::string qosClass(const json& spec) {
  // BestEffort: no container has any cpu/memory request or limit. Guaranteed: every container
  // has cpu and memory limits, and requests (if set) equal to them. Otherwise Burstable.
  bool any = false;
  bool guaranteed = true;
  for (const char* list : {"initContainers", "containers"}) {
    if (!spec.is_object() || !spec.contains(list) || !spec[list].is_array()) {
      continue;
    }
    for (const auto& c : spec[list]) {
      json requests = resourcesOf(c, "requests");
      json limits = resourcesOf(c, "limits");
      for (const char* resource : {"cpu", "memory"}) {
        bool has_request = requests.contains(resource);
        bool has_limit = limits.contains(resource);
        any = any || has_request || has_limit;
        if (!has_limit || (has_request && requests[resource] != limits[resource])) {
          guaranteed = false;
        }
      }
    }
  }
  if (!any) {
    return "BestEffort";
  }
  return guaranteed ? "Guaranteed" : "Burstable";
}

PodAction decidePod(const json& pod, const PodPlacement& placement, api::WallTime now) {
  if (pod.contains("/metadata/deletionTimestamp"_json_pointer)) {
    return {PodAction::Kind::FinalDelete, nullptr, "being deleted: its containers are gone"};
  }
  std::string phase = pod.value("/status/phase"_json_pointer, std::string());
  if (phase == "Succeeded" || phase == "Failed") {
    return {PodAction::Kind::None, nullptr, "terminal"};
  }
  if (isRunningAndReady(pod, placement)) {
    return {PodAction::Kind::None, nullptr, "running and ready"};
  }
  const json old = pod.contains("status") ? pod["status"] : json::object();
  const json spec = pod.contains("spec") ? pod["spec"] : json::object();
  std::string at = api::formatRfc3339(now);
  std::string started = old.is_object() ? old.value("startTime", at) : at;
  std::string uid = pod.value("/metadata/uid"_json_pointer, std::string());

  json conditions = json::array();
  for (const char* type :
       {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
    conditions.push_back({{"type", type},
                          {"status", "True"},
                          {"lastProbeTime", nullptr},
                          {"lastTransitionTime", transitionTime(old, type, "True", at)}});
  }
  auto containerStatus = [&](const json& c, bool init) {
    std::string name = c.value("name", "");
    std::string image = c.value("image", "");
    json status = {{"name", name},
                   {"image", image},
                   {"imageID", image.empty() ? "" : "rampart-sim://" + image},
                   {"containerID", "rampart-sim://" + uid + "-" + name},
                   {"restartCount", 0}};
    if (init) {
      status["ready"] = true;
      status["started"] = false;
      status["state"] = {{"terminated",
                          {{"exitCode", 0},
                           {"reason", "Completed"},
                           {"startedAt", started},
                           {"finishedAt", started}}}};
    } else {
      status["ready"] = true;
      status["started"] = true;
      status["state"] = {{"running", {{"startedAt", started}}}};
    }
    return status;
  };
  json statuses = json::array();
  json init_statuses = json::array();
  if (spec.contains("containers") && spec["containers"].is_array()) {
    for (const auto& c : spec["containers"]) {
      statuses.push_back(containerStatus(c, false));
    }
  }
  if (spec.contains("initContainers") && spec["initContainers"].is_array()) {
    for (const auto& c : spec["initContainers"]) {
      init_statuses.push_back(containerStatus(c, true));
    }
  }
  json status = {{"phase", "Running"},
                 {"conditions", std::move(conditions)},
                 {"hostIP", placement.host_ip},
                 {"hostIPs", json::array({{{"ip", placement.host_ip}}})},
                 {"podIP", placement.pod_ip},
                 {"podIPs", json::array({{{"ip", placement.pod_ip}}})},
                 {"startTime", started},
                 {"qosClass", qosClass(spec)},
                 {"containerStatuses", std::move(statuses)}};
  if (!init_statuses.empty()) {
    status["initContainerStatuses"] = std::move(init_statuses);
  }
  return {PodAction::Kind::SetStatus, std::move(status), "bound: containers started"};
}

}  // namespace rampart::agent

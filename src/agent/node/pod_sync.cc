#include "agent/node/pod_sync.h"

#include <algorithm>

#include "agent/pod_status.h"

namespace rampart::agent::node {
namespace {
using json = nlohmann::json;

const json& member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) {
    return kNull;
  }
  auto it = object.find(key);
  return it != object.end() ? *it : kNull;
}

std::string str(const json& object, const char* key) {
  const json& value = member(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

std::vector<const json*> containersOf(const json& spec, const char* list) {
  std::vector<const json*> out;
  const json& items = member(spec, list);
  if (items.is_array()) {
    for (const json& c : items) {
      out.push_back(&c);
    }
  }
  return out;
}

// The previous status written for container `name` (in containerStatuses or
// initContainerStatuses), or null.
const json* oldContainerStatus(const json& old_status, const char* list, const std::string& name) {
  const json& items = member(old_status, list);
  if (items.is_array()) {
    for (const json& s : items) {
      if (str(s, "name") == name) {
        return &s;
      }
    }
  }
  return nullptr;
}

json terminatedState(const ObservedContainer& c, const std::string& id) {
  json t = {{"exitCode", c.exit_code},
            {"reason", c.reason.empty() ? (c.exit_code == 0 ? "Completed" : "Error") : c.reason},
            {"startedAt", api::formatRfc3339(c.started_at)},
            {"finishedAt", api::formatRfc3339(c.finished_at.value_or(c.started_at))},
            {"containerID", id}};
  if (!c.message.empty()) {
    t["message"] = c.message;
  }
  return {{"terminated", t}};
}

std::string transitionTime(const json& old_status, const std::string& type,
                           const std::string& status, const std::string& now) {
  const json& conditions = member(old_status, "conditions");
  if (conditions.is_array()) {
    for (const json& c : conditions) {
      if (str(c, "type") == type && str(c, "status") == status &&
          member(c, "lastTransitionTime").is_string()) {
        return c["lastTransitionTime"].get<std::string>();
      }
    }
  }
  return now;
}

bool conditionTrue(const json& status, const std::string& type) {
  const json& conditions = member(status, "conditions");
  if (conditions.is_array()) {
    for (const json& c : conditions) {
      if (str(c, "type") == type) {
        return str(c, "status") == "True";
      }
    }
  }
  return false;
}

// "10s", "2m40s": the kubelet's back-off message shape.
std::string formatSeconds(Duration d) {
  int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (seconds >= 60) {
    return std::to_string(seconds / 60) + "m" + std::to_string(seconds % 60) + "s";
  }
  return std::to_string(seconds) + "s";
}

bool shouldRestart(const std::string& policy, const ObservedContainer& c) {
  if (policy == "Never") {
    return false;
  }
  if (policy == "OnFailure") {
    return c.exit_code != 0;
  }
  return true;  // Always (the default)
}

struct Builder {
  const PodFacts& facts;
  const json& pod;
  const json& spec;
  const json& old_status;
  std::string uid;
  std::string pod_name;
  std::string ns;
  std::string now_text;
  std::string policy;

  // The status of one container from what was observed and what the sync decided for it.
  json containerStatus(const json& container, bool init, const std::string& waiting_reason,
                       const std::string& waiting_message) const {
    std::string name = str(container, "name");
    std::string image = str(container, "image");
    json status = {{"name", name}, {"image", image}, {"imageID", ""}};
    auto current = facts.current.find(name);
    auto health_it = facts.health.find(name);
    ContainerHealth health = health_it != facts.health.end() ? health_it->second : ContainerHealth{};
    const json* old = oldContainerStatus(old_status, init ? "initContainerStatuses" : "containerStatuses",
                                         name);
    int restarts = current != facts.current.end() ? current->second.attempt : 0;
    status["restartCount"] = restarts;
    bool running = current != facts.current.end() && current->second.running;
    if (!waiting_reason.empty()) {
      json waiting = {{"reason", waiting_reason}};
      if (!waiting_message.empty()) {
        waiting["message"] = waiting_message;
      }
      status["state"] = {{"waiting", waiting}};
    } else if (current == facts.current.end()) {
      status["state"] = {{"waiting", {{"reason", "ContainerCreating"}}}};
    } else if (running) {
      status["state"] = {{"running", {{"startedAt", api::formatRfc3339(current->second.started_at)}}}};
    } else {
      status["state"] = terminatedState(current->second,
                                        containerId(uid, name, current->second.attempt));
    }
    if (current != facts.current.end()) {
      status["containerID"] = containerId(uid, name, current->second.attempt);
    }
    // lastState: the attempt before the current one, from the runtime when it still knows it,
    // else what was written before (an agent that restarted keeps the history in the pod).
    auto previous = facts.previous.find(name);
    if (previous != facts.previous.end()) {
      status["lastState"] =
          terminatedState(previous->second, containerId(uid, name, previous->second.attempt));
    } else if (old != nullptr && member(*old, "lastState").is_object() && restarts > 0) {
      status["lastState"] = (*old)["lastState"];
    } else {
      status["lastState"] = json::object();
    }
    bool exited_ok = current != facts.current.end() && !running &&
                     current->second.exit_code == 0 && waiting_reason.empty();
    status["ready"] = init ? exited_ok : (running && health.started && health.ready);
    status["started"] = running && health.started;
    return status;
  }

  json conditions(bool network, bool initialized, bool containers_ready) const {
    bool gates = true;
    const json& readiness_gates = member(spec, "readinessGates");
    if (readiness_gates.is_array()) {
      for (const json& gate : readiness_gates) {
        gates = gates && conditionTrue(old_status, str(gate, "conditionType"));
      }
    }
    std::vector<std::pair<std::string, bool>> wanted = {
        {"PodReadyToStartContainers", network},
        {"Initialized", initialized},
        {"Ready", containers_ready && gates},
        {"ContainersReady", containers_ready},
        {"PodScheduled", true}};
    json out = json::array();
    for (auto& [type, value] : wanted) {
      std::string text = value ? "True" : "False";
      json c = {{"type", type},
                {"status", text},
                {"lastProbeTime", nullptr},
                {"lastTransitionTime", transitionTime(old_status, type, text, now_text)}};
      if (!value && (type == "Ready" || type == "ContainersReady")) {
        c["reason"] = type == "Ready" && containers_ready ? "ReadinessGatesNotReady"
                                                          : "ContainersNotReady";
      }
      out.push_back(std::move(c));
    }
    // Conditions written by others (readiness gates, DisruptionTarget) are kept.
    const json& old_conditions = member(old_status, "conditions");
    if (old_conditions.is_array()) {
      for (const json& c : old_conditions) {
        std::string type = str(c, "type");
        bool ours = std::any_of(wanted.begin(), wanted.end(),
                                [&](const auto& w) { return w.first == type; });
        if (!ours) {
          out.push_back(c);
        }
      }
    }
    return out;
  }
};

}  // namespace

Duration terminationGrace(const json& pod) {
  const json& metadata = member(pod, "metadata");
  const json& grace = member(metadata, "deletionGracePeriodSeconds");
  if (grace.is_number_integer()) {
    return std::chrono::seconds(std::max<int64_t>(0, grace.get<int64_t>()));
  }
  const json& spec_grace = member(member(pod, "spec"), "terminationGracePeriodSeconds");
  if (spec_grace.is_number_integer()) {
    return std::chrono::seconds(std::max<int64_t>(0, spec_grace.get<int64_t>()));
  }
  return std::chrono::seconds(30);
}

std::string containerId(const std::string& pod_uid, const std::string& name, int attempt) {
  return "rampart://" + pod_uid + "/" + name + "/" + std::to_string(attempt);
}

SyncAction syncPod(const PodFacts& facts) {
  const json& pod = facts.pod;
  const json& metadata = member(pod, "metadata");
  const json& spec = member(pod, "spec");
  const json& old_status = member(pod, "status");
  Builder b{facts,
            pod,
            spec,
            old_status,
            str(metadata, "uid"),
            str(metadata, "name"),
            str(metadata, "namespace"),
            api::formatRfc3339(facts.wall_now),
            str(spec, "restartPolicy")};
  if (b.policy.empty()) {
    b.policy = "Always";
  }
  SyncAction action;
  bool deleting = metadata.contains("deletionTimestamp") && !metadata["deletionTimestamp"].is_null();
  std::string old_phase = str(old_status, "phase");
  bool terminal = old_phase == "Succeeded" || old_phase == "Failed";

  auto init_containers = containersOf(spec, "initContainers");
  auto containers = containersOf(spec, "containers");
  std::map<std::string, std::pair<std::string, std::string>> waiting;  // name → reason, message

  auto anyRunning = [&] {
    return std::any_of(facts.current.begin(), facts.current.end(),
                       [](const auto& c) { return c.second.running; });
  };

  // An exited container that is to run again: now, or once its back-off has passed (waiting
  // with the kubelet's CrashLoopBackOff message meanwhile).
  auto restartOrWait = [&](const std::string& name, const ObservedContainer& obs, bool init) {
    auto backoff = facts.backoff.find(name);
    if (backoff != facts.backoff.end() && facts.now < backoff->second.until) {
      waiting[name] = {"CrashLoopBackOff", "back-off " + formatSeconds(backoff->second.delay) +
                                               " restarting failed container=" + name +
                                               " pod=" + b.pod_name + "_" + b.ns + "(" + b.uid +
                                               ")"};
    } else {
      action.start.push_back({name, obs.attempt + 1, init});
    }
  };

  // A container that never ran: started, unless its configuration cannot be made (waiting with
  // the kubelet's CreateContainerConfigError and the reason).
  auto firstStart = [&](const std::string& name, bool init) {
    auto error = facts.config_errors.find(name);
    if (error != facts.config_errors.end()) {
      waiting[name] = {"CreateContainerConfigError", error->second};
    } else {
      action.start.push_back({name, 0, init});
    }
  };

  std::string phase = "Pending";
  bool initialized = init_containers.empty();
  bool init_failed = false;

  if (deleting || terminal) {
    if (anyRunning()) {
      for (const auto& [name, c] : facts.current) {
        if (c.running) {
          action.kill.push_back({name, terminationGrace(pod), "Killing"});
        }
      }
      action.reason = deleting ? "deleting: stopping containers" : "terminal: stopping containers";
    } else if (deleting) {
      action.final_delete = true;
      action.release = true;
      action.reason = "deleting: every container is gone";
    } else {
      action.release = true;
      action.reason = "terminal";
    }
    initialized = true;
    phase = old_phase.empty() ? "Pending" : old_phase;
    if (deleting && !terminal && !anyRunning()) {
      // The containers are gone; the final status says how they ended (the kubelet's: all
      // exited 0 → Succeeded, else Failed) before the object is deleted.
      bool all_ok = !containers.empty() &&
                    std::all_of(containers.begin(), containers.end(), [&](const json* c) {
                      auto it = facts.current.find(str(*c, "name"));
                      return it != facts.current.end() && it->second.exit_code == 0;
                    });
      phase = all_ok ? "Succeeded" : "Failed";
    }
  } else if (!facts.network_ready) {
    action.reason = "waiting for the pod's network";
  } else {
    // Init containers, one at a time.
    initialized = true;
    for (const json* c : init_containers) {
      std::string name = str(*c, "name");
      auto current = facts.current.find(name);
      if (current == facts.current.end()) {
        firstStart(name, true);
        initialized = false;
        break;
      }
      const ObservedContainer& obs = current->second;
      if (obs.running) {
        auto health = facts.health.find(name);
        if (health != facts.health.end() && health->second.restart_needed) {
          action.kill.push_back({name, terminationGrace(pod), health->second.message});
        }
        initialized = false;
        break;
      }
      if (obs.exit_code == 0) {
        continue;
      }
      initialized = false;
      if (b.policy == "Never") {
        init_failed = true;
        break;
      }
      restartOrWait(name, obs, true);
      break;
    }

    if (initialized) {
      for (const json* c : containers) {
        std::string name = str(*c, "name");
        auto current = facts.current.find(name);
        if (current == facts.current.end()) {
          firstStart(name, false);
          continue;
        }
        const ObservedContainer& obs = current->second;
        if (obs.running) {
          auto health = facts.health.find(name);
          if (health != facts.health.end() && health->second.restart_needed) {
            action.kill.push_back({name, terminationGrace(pod), health->second.message});
          }
          continue;
        }
        if (!shouldRestart(b.policy, obs)) {
          continue;
        }
        restartOrWait(name, obs, false);
      }
    }

    // Phase, as the kubelet's getPhase.
    if (init_failed) {
      phase = "Failed";
    } else if (!initialized) {
      phase = "Pending";
    } else {
      int running = 0, waiting_count = 0, failed = 0;  // the rest exited 0
      for (const json* c : containers) {
        std::string name = str(*c, "name");
        auto current = facts.current.find(name);
        bool starting = std::any_of(action.start.begin(), action.start.end(),
                                    [&](const StartContainer& s) { return s.name == name; });
        if (current == facts.current.end()) {
          ++waiting_count;
        } else if (current->second.running) {
          ++running;
        } else if (starting || waiting.count(name) > 0) {
          // Exited but about to restart (or in back-off): counts as running, as a restarting
          // container does for the kubelet once it has run.
          ++running;
        } else if (current->second.exit_code != 0) {
          ++failed;
        }
      }
      if (waiting_count > 0) {
        phase = "Pending";
      } else if (running > 0) {
        phase = "Running";
      } else if (failed > 0) {
        phase = "Failed";
      } else {
        phase = "Succeeded";
      }
    }
    if (phase == "Succeeded" || phase == "Failed") {
      action.release = true;
    }
    if (action.reason.empty()) {
      action.reason = "phase " + phase;
    }
  }

  // Status.
  bool containers_ready = !containers.empty() && initialized;
  json statuses = json::array();
  for (const json* c : containers) {
    std::string name = str(*c, "name");
    auto w = waiting.find(name);
    json s = b.containerStatus(*c, false, w != waiting.end() ? w->second.first : "",
                               w != waiting.end() ? w->second.second : "");
    containers_ready = containers_ready && s["ready"].get<bool>();
    statuses.push_back(std::move(s));
  }
  json init_statuses = json::array();
  for (const json* c : init_containers) {
    std::string name = str(*c, "name");
    auto w = waiting.find(name);
    init_statuses.push_back(b.containerStatus(*c, true, w != waiting.end() ? w->second.first : "",
                                              w != waiting.end() ? w->second.second : ""));
  }
  if (phase == "Succeeded" || phase == "Failed") {
    containers_ready = false;
  }
  json status = {{"phase", phase},
                 {"conditions", b.conditions(facts.network_ready || deleting || terminal,
                                             initialized, containers_ready)},
                 {"qosClass", qosClass(spec)},
                 {"containerStatuses", std::move(statuses)}};
  if (!init_statuses.empty()) {
    status["initContainerStatuses"] = std::move(init_statuses);
  }
  if (!facts.host_ip.empty()) {
    status["hostIP"] = facts.host_ip;
    status["hostIPs"] = json::array({{{"ip", facts.host_ip}}});
  }
  if (!facts.pod_ip.empty()) {
    status["podIP"] = facts.pod_ip;
    status["podIPs"] = json::array({{{"ip", facts.pod_ip}}});
  }
  std::string start_time = str(old_status, "startTime");
  status["startTime"] = start_time.empty() ? b.now_text : start_time;
  // Fields others wrote (nominatedNodeName, message/reason of an eviction) are kept.
  for (const char* kept : {"message", "reason", "nominatedNodeName"}) {
    if (old_status.is_object() && old_status.contains(kept)) {
      status[kept] = old_status[kept];
    }
  }
  if (status != old_status) {
    action.status = std::move(status);
  }
  return action;
}

}  // namespace rampart::agent::node

#include "controller/db/decide.h"

#include <algorithm>

namespace rampart::controller::db {
using json = nlohmann::json;

namespace {

std::string str(const json& o, const json::json_pointer& at) {
  return o.contains(at) && o[at].is_string() ? o[at].get<std::string>() : std::string();
}

bool podReady(const json& pod) {
  for (const auto& c : pod.value("/status/conditions"_json_pointer, json::array())) {
    if (c.value("type", "") == "Ready") {
      return c.value("status", "") == "True";
    }
  }
  return false;
}

bool containerRunning(const json& pod) {
  if (str(pod, "/status/phase"_json_pointer) != "Running") {
    return false;
  }
  for (const auto& c : pod.value("/status/containerStatuses"_json_pointer, json::array())) {
    if (c.contains("/state/running"_json_pointer)) {
      return true;
    }
  }
  return false;
}

bool terminating(const json& o) { return o.contains("/metadata/deletionTimestamp"_json_pointer); }

bool ended(const json& pod) {
  std::string phase = str(pod, "/status/phase"_json_pointer);
  return phase == "Succeeded" || phase == "Failed";
}

// The controller reference's uid if it names a cluster of `engine`'s kind called `cluster`,
// else "".
std::string ownerUid(const json& o, Engine engine, const std::string& cluster) {
  for (const auto& ref : o.value("/metadata/ownerReferences"_json_pointer, json::array())) {
    if (ref.value("controller", false) && ref.value("kind", "") == kindOf(engine) &&
        ref.value("name", "") == cluster) {
      return ref.value("uid", "");
    }
  }
  return "";
}

const json* byName(const std::vector<json>& objects, const std::string& name) {
  for (const auto& o : objects) {
    if (str(o, "/metadata/name"_json_pointer) == name) {
      return &o;
    }
  }
  return nullptr;
}

DbAction action(DbAction::Verb verb, std::string resource, std::string name, json body,
                std::string reason) {
  return DbAction{verb, std::move(resource), std::move(name), std::move(body), std::move(reason)};
}

// The cluster is gone: delete what it controlled.
DbDecision removeChildren(const ClusterFacts& facts) {
  DbDecision d;
  auto sweep = [&](const std::vector<json>& objects, const char* resource) {
    for (const auto& o : objects) {
      std::string uid = ownerUid(o, facts.engine, facts.name);
      if (uid.empty() || terminating(o)) {
        continue;
      }
      std::string name = str(o, "/metadata/name"_json_pointer);
      d.actions.push_back(
          action(DbAction::Verb::Delete, resource, name, str(o, "/metadata/uid"_json_pointer),
                 std::string(kindOf(facts.engine)) + " " + facts.name + " was deleted"));
    }
  };
  sweep(facts.pods, "pods");
  sweep(facts.services, "services");
  sweep(facts.secrets, "secrets");
  sweep(facts.config_maps, "configmaps");
  return d;
}

// The role this member serves in, "" when none (not answering, starting, stopped).
std::string roleOf(const json& pod, const ClusterFacts& facts) {
  if (terminating(pod) || ended(pod)) {
    return "";
  }
  if (podReady(pod)) {
    return "primary";
  }
  std::string name = str(pod, "/metadata/name"_json_pointer);
  if (facts.roles) {
    auto it = facts.roles->find(name);
    return it != facts.roles->end() && it->second == "replica" && containerRunning(pod)
               ? "replica"
               : "";
  }
  return containerRunning(pod) ? "replica" : "";
}

std::string serviceAddress(const std::vector<json>& services, const std::string& name, int port) {
  const json* s = byName(services, name);
  if (!s) {
    return "";
  }
  std::string ip = str(*s, "/spec/clusterIP"_json_pointer);
  if (ip.empty() || ip == "None") {
    return "";
  }
  return ip + ":" + std::to_string(port);
}

// Ensures an object of `resource` exists as `desired`; `update` also rewrites it when its
// data differs (the etcd Secret, the ConfigMap).
void ensure(DbDecision& d, const std::vector<json>& existing, const char* resource,
            const json& desired, bool update, const char* what) {
  std::string name = desired["metadata"]["name"];
  const json* current = byName(existing, name);
  if (!current) {
    d.actions.push_back(
        action(DbAction::Verb::Create, resource, name, desired, std::string(what) + " missing"));
    return;
  }
  if (update && !terminating(*current) &&
      current->value("data", json::object()) != desired.value("data", json::object())) {
    json next = *current;
    next["data"] = desired["data"];
    d.actions.push_back(action(DbAction::Verb::Update, resource, name, next,
                               std::string(what) + " differs from the cluster's spec"));
  }
}

}  // namespace

DbDecision decideDatabaseCluster(const ClusterFacts& facts, const DbSettings& settings,
                                 const GeneratedSecrets& fresh) {
  if (!facts.cluster) {
    return removeChildren(facts);
  }
  const json& cluster = *facts.cluster;
  DbDecision d;
  const json spec = cluster.value("spec", json::object());
  const int members = spec.value("members", 3);
  const bool paused = spec.value("paused", false);
  const bool acting = !paused && settings.configured() && !terminating(cluster);

  if (acting) {
    ensure(d, facts.secrets, "secrets", credentialsSecret(cluster, fresh), false,
           "credentials Secret");
    ensure(d, facts.secrets, "secrets", etcdSecret(cluster, settings), true, "etcd Secret");
    ensure(d, facts.config_maps, "configmaps", configMap(cluster, settings), true,
           "member ConfigMap");
    ensure(d, facts.services, "services", writeService(cluster), false, "write Service");
    ensure(d, facts.services, "services", readService(cluster), false, "read Service");
    if (facts.engine == Engine::Redis) {
      ensure(d, facts.services, "services", sentinelService(cluster), false, "Sentinel Service");
    }
  }

  // Members by ordinal; pods with the label that are not members are left alone.
  std::map<int, const json*> by_ordinal;
  for (const auto& pod : facts.pods) {
    int ordinal = ordinalOf(facts.name, str(pod, "/metadata/name"_json_pointer));
    if (ordinal >= 0) {
      by_ordinal[ordinal] = &pod;
    }
  }
  if (acting) {
    for (int i = 0; i < members; ++i) {
      auto it = by_ordinal.find(i);
      if (it == by_ordinal.end()) {
        d.actions.push_back(action(DbAction::Verb::Create, "pods", podName(facts.name, i),
                                   memberPod(cluster, settings, i),
                                   "member " + std::to_string(i) + " of " +
                                       std::to_string(members) + " missing"));
      } else if (ended(*it->second) && !terminating(*it->second)) {
        d.actions.push_back(action(DbAction::Verb::Delete, "pods", podName(facts.name, i),
                                   str(*it->second, "/metadata/uid"_json_pointer),
                                   "member ended (phase " +
                                       str(*it->second, "/status/phase"_json_pointer) +
                                       "): replaced"));
      }
    }
    // Scale down one member at a time, the highest ordinal first.
    bool leaving = false;
    for (auto it = by_ordinal.rbegin(); it != by_ordinal.rend(); ++it) {
      leaving = leaving || (it->first >= members && terminating(*it->second));
    }
    for (auto it = by_ordinal.rbegin(); it != by_ordinal.rend() && !leaving; ++it) {
      if (it->first >= members && !ownerUid(*it->second, facts.engine, facts.name).empty()) {
        d.actions.push_back(action(DbAction::Verb::Delete, "pods", podName(facts.name, it->first),
                                   str(*it->second, "/metadata/uid"_json_pointer),
                                   "spec.members is " + std::to_string(members)));
        break;
      }
    }
  }

  // Roles, labels and the members' status.
  json status_members = json::array();
  std::string primary;
  int primaries = 0;
  int ready = 0;
  for (const auto& [ordinal, pod] : by_ordinal) {
    std::string name = str(*pod, "/metadata/name"_json_pointer);
    std::string role = roleOf(*pod, facts);
    if (role == "primary") {
      ++primaries;
      if (primary.empty()) {
        primary = name;
      }
    }
    if (!role.empty() && ordinal < members) {
      ++ready;
    }
    std::string labelled = str(*pod, json::json_pointer("/metadata/labels/rampart.io~1role"));
    if (!paused && labelled != role && !terminating(*pod)) {
      d.actions.push_back(action(
          DbAction::Verb::Patch, "pods", name,
          {{"metadata", {{"labels", {{kRoleLabel, role.empty() ? json() : json(role)}}}}}},
          role.empty() ? "no role: out of the read Service" : "serves as " + role));
    }
    std::string node = str(*pod, "/spec/nodeName"_json_pointer);
    auto zone = facts.node_zones.find(node);
    status_members.push_back({{"name", name},
                              {"node", node},
                              {"zone", zone == facts.node_zones.end() ? "" : zone->second},
                              {"role", role.empty() ? "unknown" : role},
                              {"ready", !role.empty()}});
  }

  const json previous = cluster.value("status", json::object());
  std::string before = previous.value("phase", "");
  std::string phase;
  std::string reason;
  std::string message;
  if (!settings.configured()) {
    phase = "Failed";
    reason = "DatabaseControllerNotConfigured";
    message = "rampart controller runs without --database-etcd-servers, so it cannot give members "
              "etcd access";
  } else if (paused) {
    phase = "Paused";
    reason = "Paused";
    message = "spec.paused is true";
  } else if (primaries > 1) {
    phase = "Degraded";
    reason = "SeveralReady";
    message = std::to_string(primaries) + " members answer as primary";
  } else if (!primary.empty()) {
    phase = ready >= members ? "Running" : "Degraded";
    reason = ready >= members ? "AllMembersReady" : "MembersNotReady";
    message = std::to_string(ready) + " of " + std::to_string(members) + " members ready, " +
              primary + " is primary";
  } else if (before == "Running" || before == "Degraded" || before == "Failed") {
    phase = "Failed";
    reason = "NoPrimary";
    message = "no member answers as primary";
  } else {
    phase = by_ordinal.empty() ? "Pending" : "Creating";
    reason = "Creating";
    message = std::to_string(by_ordinal.size()) + " of " + std::to_string(members) +
              " members created, none primary yet";
  }
  std::string condition_status = phase == "Running" ? "True" : "False";
  std::string transition = api::formatRfc3339(facts.now);
  for (const auto& c : previous.value("conditions", json::array())) {
    if (c.value("type", "") == "Ready" && c.value("status", "") == condition_status &&
        c.contains("lastTransitionTime")) {
      transition = c["lastTransitionTime"];
    }
  }
  const int port = serverPort(facts.engine);
  json endpoints = {{"write", serviceAddress(facts.services, writeServiceName(facts.name), port)},
                    {"read", serviceAddress(facts.services, readServiceName(facts.name), port)},
                    {"secret", credentialsSecretName(facts.name)}};
  if (facts.engine == Engine::Redis) {
    endpoints["sentinel"] =
        serviceAddress(facts.services, sentinelServiceName(facts.name), kSentinelPort);
  }
  json status = {
      {"phase", phase},
      {"members", status_members},
      {"readyMembers", ready},
      {"endpoints", endpoints},
      {"conditions", json::array({{{"type", "Ready"},
                                   {"status", condition_status},
                                   {"reason", reason},
                                   {"message", message},
                                   {"lastTransitionTime", transition}}})},
      {"observedGeneration", cluster.value("/metadata/generation"_json_pointer, int64_t{0})}};
  if (!primary.empty()) {
    status["primary"] = primary;
  }
  d.status = status;
  if (previous != status && !terminating(cluster)) {
    json next = cluster;
    next["status"] = status;
    d.actions.push_back(action(DbAction::Verb::UpdateStatus, pluralOf(facts.engine), facts.name,
                               next, "phase " + phase + ": " + message));
  }
  return d;
}

}  // namespace rampart::controller::db

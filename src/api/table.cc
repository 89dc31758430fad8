#include "api/table.h"

#include <algorithm>
#include <cstdio>
#include <cctype>
#include <ctime>
#include <functional>

#include <nlohmann/json.hpp>

#include "api/selector.h"

namespace rampart::api {
using json = nlohmann::json;

namespace {

struct Column {
  const char* name;
  const char* type;  // "string", "integer", "date"
  int priority;      // 1: shown only with -o wide
  const char* description;
};

json columnDefinitions(const std::vector<Column>& columns) {
  json out = json::array();
  for (const auto& c : columns) {
    json def = {{"name", c.name},
                {"type", c.type},
                {"format", std::string_view(c.name) == "Name" ? "name" : ""},
                {"description", c.description},
                {"priority", c.priority}};
    out.push_back(def);
  }
  return out;
}

std::string str(const json& object, const json::json_pointer& at, std::string fallback = "") {
  if (!object.contains(at)) {
    return fallback;
  }
  const json& v = object[at];
  if (v.is_string()) {
    return v.get<std::string>().empty() ? fallback : v.get<std::string>();
  }
  if (v.is_number_integer()) {
    return std::to_string(v.get<int64_t>());
  }
  return v.is_null() ? fallback : v.dump();
}

int64_t num(const json& object, const json::json_pointer& at, int64_t fallback = 0) {
  if (!object.contains(at) || !object[at].is_number_integer()) {
    return fallback;
  }
  return object[at].get<int64_t>();
}

const json& arr(const json& object, const json::json_pointer& at) {
  static const json empty = json::array();
  if (!object.contains(at) || !object[at].is_array()) {
    return empty;
  }
  return object[at];
}

std::string age(const json& object, WallTime now,
                const char* field = "/metadata/creationTimestamp") {
  auto t = parseRfc3339(str(object, json::json_pointer(field)));
  if (!t) {
    return "<unknown>";
  }
  return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

std::string joined(const std::vector<std::string>& parts, const char* empty = "<none>") {
  if (parts.empty()) {
    return empty;
  }
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : ",") + p;
  }
  return out;
}

// The containers and images columns of workloads (-o wide).
std::pair<std::string, std::string> containersAndImages(const json& object) {
  std::vector<std::string> names;
  std::vector<std::string> images;
  for (const auto& c : arr(object, "/spec/template/spec/containers"_json_pointer)) {
    names.push_back(c.value("name", ""));
    images.push_back(c.value("image", ""));
  }
  return {joined(names), joined(images)};
}

std::string selectorText(const json& object) {
  if (!object.contains("/spec/selector"_json_pointer)) {
    return "<none>";
  }
  auto s = labelSelectorFromJson(object["/spec/selector"_json_pointer], "spec.selector");
  if (!s || s->empty()) {
    return "<none>";
  }
  return s->toString();
}

std::string podStatus(const json& pod, int64_t& restarts, int& ready, int& total,
                      std::optional<WallTime>& last_restart) {
  std::string reason = str(pod, "/status/phase"_json_pointer);
  if (auto r = str(pod, "/status/reason"_json_pointer); !r.empty()) {
    reason = r;
  }
  total = static_cast<int>(arr(pod, "/spec/containers"_json_pointer).size());
  auto note_restart = [&](const json& status) {
    restarts += status.value("restartCount", int64_t{0});
    if (status.contains("/lastState/terminated/finishedAt"_json_pointer)) {
      auto t = parseRfc3339(str(status, "/lastState/terminated/finishedAt"_json_pointer));
      if (t && (!last_restart || *t > *last_restart)) {
        last_restart = t;
      }
    }
  };
  bool initializing = false;
  const json& inits = arr(pod, "/status/initContainerStatuses"_json_pointer);
  size_t init_count = arr(pod, "/spec/initContainers"_json_pointer).size();
  for (size_t i = 0; i < inits.size(); ++i) {
    const json& c = inits[i];
    note_restart(c);
    if (c.contains("/state/terminated"_json_pointer) &&
        num(c, "/state/terminated/exitCode"_json_pointer) == 0) {
      continue;
    }
    if (c.contains("/state/terminated"_json_pointer)) {
      std::string r = str(c, "/state/terminated/reason"_json_pointer);
      int64_t signal = num(c, "/state/terminated/signal"_json_pointer);
      reason = !r.empty() ? "Init:" + r
               : signal != 0
                   ? "Init:Signal:" + std::to_string(signal)
                   : "Init:ExitCode:" +
                         std::to_string(num(c, "/state/terminated/exitCode"_json_pointer));
    } else if (auto w = str(c, "/state/waiting/reason"_json_pointer);
               !w.empty() && w != "PodInitializing") {
      reason = "Init:" + w;
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(init_count);
    }
    initializing = true;
    break;
  }
  if (!initializing) {
    bool has_running = false;
    const json& statuses = arr(pod, "/status/containerStatuses"_json_pointer);
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
      const json& c = *it;
      note_restart(c);
      std::string waiting = str(c, "/state/waiting/reason"_json_pointer);
      std::string terminated = str(c, "/state/terminated/reason"_json_pointer);
      if (!waiting.empty()) {
        reason = waiting;
      } else if (!terminated.empty()) {
        reason = terminated;
      } else if (c.contains("/state/terminated"_json_pointer)) {
        int64_t signal = num(c, "/state/terminated/signal"_json_pointer);
        reason =
            signal != 0
                ? "Signal:" + std::to_string(signal)
                : "ExitCode:" + std::to_string(num(c, "/state/terminated/exitCode"_json_pointer));
      } else if (c.value("ready", false) && c.contains("/state/running"_json_pointer)) {
        has_running = true;
        ++ready;
      }
    }
    if (reason == "Completed" && has_running) {
      bool pod_ready = false;
      for (const auto& cond : arr(pod, "/status/conditions"_json_pointer)) {
        pod_ready =
            pod_ready || (cond.value("type", "") == "Ready" && cond.value("status", "") == "True");
      }
      reason = pod_ready ? "Running" : "NotReady";
    }
  }
  if (pod.contains("/metadata/deletionTimestamp"_json_pointer)) {
    reason = str(pod, "/status/reason"_json_pointer) == "NodeLost" ? "Unknown" : "Terminating";
  }
  return reason;
}

json podRow(const json& pod, WallTime now) {
  int64_t restarts = 0;
  int ready = 0;
  int total = 0;
  std::optional<WallTime> last_restart;
  std::string status = podStatus(pod, restarts, ready, total, last_restart);
  std::string restart_text = std::to_string(restarts);
  if (last_restart) {
    restart_text +=
        " (" +
        humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *last_restart)) +
        " ago)";
  }
  std::string gates = "<none>";
  if (size_t n = arr(pod, "/spec/readinessGates"_json_pointer).size(); n > 0) {
    size_t met = 0;
    for (const auto& g : arr(pod, "/spec/readinessGates"_json_pointer)) {
      for (const auto& cond : arr(pod, "/status/conditions"_json_pointer)) {
        met += cond.value("type", "") == g.value("conditionType", "") &&
               cond.value("status", "") == "True";
      }
    }
    gates = std::to_string(met) + "/" + std::to_string(n);
  }
  return {str(pod, "/metadata/name"_json_pointer),
          std::to_string(ready) + "/" + std::to_string(total),
          status,
          restart_text,
          age(pod, now),
          str(pod, "/status/podIP"_json_pointer, "<none>"),
          str(pod, "/spec/nodeName"_json_pointer, "<none>"),
          str(pod, "/status/nominatedNodeName"_json_pointer, "<none>"),
          gates};
}

std::string nodeStatus(const json& node) {
  std::vector<std::string> parts;
  bool ready_seen = false;
  for (const auto& c : arr(node, "/status/conditions"_json_pointer)) {
    std::string type = c.value("type", "");
    if (c.value("status", "") == "True") {
      parts.push_back(type);
      ready_seen = ready_seen || type == "Ready";
    } else if (type == "Ready") {
      parts.push_back("NotReady");
      ready_seen = true;
    }
  }
  if (parts.empty()) {
    parts.push_back("Unknown");
  }
  if (node.value("/spec/unschedulable"_json_pointer, false)) {
    parts.push_back("SchedulingDisabled");
  }
  return joined(parts);
}

std::string nodeRoles(const json& node) {
  std::vector<std::string> roles;
  if (node.contains("/metadata/labels"_json_pointer)) {
    for (const auto& [k, v] : node["/metadata/labels"_json_pointer].items()) {
      constexpr std::string_view kPrefix = "node-role.kubernetes.io/";
      if (k.starts_with(kPrefix) && k.size() > kPrefix.size()) {
        roles.push_back(k.substr(kPrefix.size()));
      } else if (k == "kubernetes.io/role" && v.is_string() && !v.get<std::string>().empty()) {
        roles.push_back(v.get<std::string>());
      }
    }
  }
  std::sort(roles.begin(), roles.end());
  return joined(roles);
}

std::string nodeAddress(const json& node, const char* type) {
  for (const auto& a : arr(node, "/status/addresses"_json_pointer)) {
    if (a.value("type", "") == type) {
      return a.value("address", "<none>");
    }
  }
  return "<none>";
}

std::string servicePorts(const json& svc) {
  std::vector<std::string> parts;
  for (const auto& p : arr(svc, "/spec/ports"_json_pointer)) {
    std::string text = std::to_string(p.value("port", 0));
    if (p.contains("nodePort")) {
      text += ":" + std::to_string(p.value("nodePort", 0));
    }
    parts.push_back(text + "/" + p.value("protocol", std::string("TCP")));
  }
  return joined(parts);
}

std::string serviceSelector(const json& svc) {
  std::vector<std::string> parts;
  if (svc.contains("/spec/selector"_json_pointer) &&
      svc["/spec/selector"_json_pointer].is_object()) {
    for (const auto& [k, v] : svc["/spec/selector"_json_pointer].items()) {
      parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
    }
  }
  return joined(parts);
}

std::string serviceExternalIp(const json& svc) {
  std::vector<std::string> ips;
  for (const auto& ip : arr(svc, "/spec/externalIPs"_json_pointer)) {
    ips.push_back(ip.is_string() ? ip.get<std::string>() : "");
  }
  for (const auto& ingress : arr(svc, "/status/loadBalancer/ingress"_json_pointer)) {
    ips.push_back(ingress.value("ip", ingress.value("hostname", "")));
  }
  if (ips.empty() && str(svc, "/spec/type"_json_pointer) == "LoadBalancer") {
    return "<pending>";
  }
  return joined(ips);
}

// Kubernetes lists at most three endpoints, then "+ N more...".
std::string endpointsText(const json& ep) {
  std::vector<std::string> all;
  for (const auto& subset : arr(ep, "/subsets"_json_pointer)) {
    const json& ports = arr(subset, "/ports"_json_pointer);
    for (const auto& address : arr(subset, "/addresses"_json_pointer)) {
      std::string ip = address.value("ip", "");
      if (ports.empty()) {
        all.push_back(ip);
      }
      for (const auto& port : ports) {
        all.push_back(ip + ":" + std::to_string(port.value("port", 0)));
      }
    }
  }
  if (all.size() <= 3) {
    return joined(all);
  }
  std::vector<std::string> first(all.begin(), all.begin() + 3);
  return joined(first) + " + " + std::to_string(all.size() - 3) + " more...";
}

std::string eventSeen(const json& ev, const char* field, WallTime now) {
  std::string text = str(ev, json::json_pointer(field));
  if (text.empty()) {
    text = str(ev, "/eventTime"_json_pointer);
  }
  auto t = parseRfc3339(text);
  return t ? humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t))
           : "<unknown>";
}

std::string lowered(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

struct Printer {
  std::vector<Column> columns;
  std::function<json(const json&, WallTime)> row;
};

Printer printerFor(const ResourceInfo& resource) {
  const char* kName = "Name must be unique within a namespace.";
  const char* kAge =
      "CreationTimestamp is a timestamp representing the server time when this "
      "object was created.";
  const std::string& kind = resource.kind;
  if (kind == "Pod") {
    return {
        {{"Name", "string", 0, kName},
         {"Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."},
         {"Status", "string", 0, "The aggregate status of the containers in this pod."},
         {"Restarts", "string", 0,
          "The number of times the containers in this pod have been restarted and when the last "
          "container in this pod has restarted."},
         {"Age", "string", 0, kAge},
         {"IP", "string", 1, "IP address allocated to the pod."},
         {"Node", "string", 1, "Name of the Node this pod is assigned to."},
         {"Nominated Node", "string", 1, "Name of the node nominated for this pod."},
         {"Readiness Gates", "string", 1, "Pod readiness gates."}},
        podRow};
  }
  if (kind == "Deployment") {
    return {{{"Name", "string", 0, kName},
             {"Ready", "string", 0, "Number of the pod with ready state"},
             {"Up-to-date", "integer", 0,
              "Total number of non-terminated pods targeted by this deployment that have the "
              "desired template spec."},
             {"Available", "integer", 0,
              "Total number of available pods (ready for at least minReadySeconds) targeted by "
              "this deployment."},
             {"Age", "string", 0, kAge},
             {"Containers", "string", 1, "Names of each container in the template."},
             {"Images", "string", 1, "Images referenced by each container in the template."},
             {"Selector", "string", 1, "Label selector for pods."}},
            [](const json& d, WallTime now) {
              auto [containers, images] = containersAndImages(d);
              return json{str(d, "/metadata/name"_json_pointer),
                          std::to_string(num(d, "/status/readyReplicas"_json_pointer)) + "/" +
                              std::to_string(num(d, "/spec/replicas"_json_pointer, 1)),
                          num(d, "/status/updatedReplicas"_json_pointer),
                          num(d, "/status/availableReplicas"_json_pointer),
                          age(d, now),
                          containers,
                          images,
                          selectorText(d)};
            }};
  }
  if (kind == "ReplicaSet") {
    return {{{"Name", "string", 0, kName},
             {"Desired", "integer", 0, "Number of desired pods."},
             {"Current", "integer", 0, "Number of actually running pods."},
             {"Ready", "integer", 0, "Number of ready pods."},
             {"Age", "string", 0, kAge},
             {"Containers", "string", 1, "Names of each container in the template."},
             {"Images", "string", 1, "Images referenced by each container in the template."},
             {"Selector", "string", 1, "Label selector for pods."}},
            [](const json& rs, WallTime now) {
              auto [containers, images] = containersAndImages(rs);
              return json{str(rs, "/metadata/name"_json_pointer),
                          num(rs, "/spec/replicas"_json_pointer, 1),
                          num(rs, "/status/replicas"_json_pointer),
                          num(rs, "/status/readyReplicas"_json_pointer),
                          age(rs, now),
                          containers,
                          images,
                          selectorText(rs)};
            }};
  }
  if (kind == "StatefulSet") {
    return {{{"Name", "string", 0, kName},
             {"Ready", "string", 0, "Number of the pod with ready state"},
             {"Age", "string", 0, kAge},
             {"Containers", "string", 1, "Names of each container in the template."},
             {"Images", "string", 1, "Images referenced by each container in the template."}},
            [](const json& s, WallTime now) {
              auto [containers, images] = containersAndImages(s);
              return json{str(s, "/metadata/name"_json_pointer),
                          std::to_string(num(s, "/status/readyReplicas"_json_pointer)) + "/" +
                              std::to_string(num(s, "/spec/replicas"_json_pointer, 1)),
                          age(s, now), containers, images};
            }};
  }
  if (kind == "Node") {
    return {{{"Name", "string", 0, kName},
             {"Status", "string", 0, "The status of the node"},
             {"Roles", "string", 0, "The roles of the node"},
             {"Age", "string", 0, kAge},
             {"Version", "string", 0, "Kubelet Version reported by the node."},
             {"Internal-IP", "string", 1, "List of internal IPs."},
             {"External-IP", "string", 1, "List of external IPs."},
             {"OS-Image", "string", 1, "OS image reported by the node."},
             {"Kernel-Version", "string", 1, "Kernel version reported by the node."},
             {"Container-Runtime", "string", 1, "Container runtime reported by the node."}},
            [](const json& n, WallTime now) {
              return json{
                  str(n, "/metadata/name"_json_pointer),
                  nodeStatus(n),
                  nodeRoles(n),
                  age(n, now),
                  str(n, "/status/nodeInfo/kubeletVersion"_json_pointer),
                  nodeAddress(n, "InternalIP"),
                  nodeAddress(n, "ExternalIP"),
                  str(n, "/status/nodeInfo/osImage"_json_pointer, "<unknown>"),
                  str(n, "/status/nodeInfo/kernelVersion"_json_pointer, "<unknown>"),
                  str(n, "/status/nodeInfo/containerRuntimeVersion"_json_pointer, "<unknown>")};
            }};
  }
  if (kind == "Service") {
    return {{{"Name", "string", 0, kName},
             {"Type", "string", 0, "The type of the service."},
             {"Cluster-IP", "string", 0, "The cluster IP of the service."},
             {"External-IP", "string", 0, "The external IP of the service."},
             {"Port(s)", "string", 0, "The ports of the service."},
             {"Age", "string", 0, kAge},
             {"Selector", "string", 1, "The label selector of the service."}},
            [](const json& s, WallTime now) {
              return json{str(s, "/metadata/name"_json_pointer),
                          str(s, "/spec/type"_json_pointer, "ClusterIP"),
                          str(s, "/spec/clusterIP"_json_pointer, "<none>"),
                          serviceExternalIp(s),
                          servicePorts(s),
                          age(s, now),
                          serviceSelector(s)};
            }};
  }
  if (kind == "Endpoints") {
    return {{{"Name", "string", 0, kName},
             {"Endpoints", "string", 0, "Endpoints of the service."},
             {"Age", "string", 0, kAge}},
            [](const json& e, WallTime now) {
              return json{str(e, "/metadata/name"_json_pointer), endpointsText(e), age(e, now)};
            }};
  }
  if (kind == "Event") {
    return {
        {{"Last Seen", "string", 0, "Time since the event was last seen."},
         {"Type", "string", 0, "Type of this event (Normal, Warning)."},
         {"Reason", "string", 0, "Why the action was taken."},
         {"Object", "string", 0, "The object this event is about."},
         {"Subobject", "string", 1, "The part of the object this event is about."},
         {"Source", "string", 1, "The component reporting this event."},
         {"Message", "string", 0, "A human-readable description of the status of this operation."},
         {"First Seen", "string", 1, "Time since the event was first seen."},
         {"Count", "string", 1, "The number of times this event has occurred."},
         {"Name", "string", 1, kName}},
        [](const json& e, WallTime now) {
          std::string source = str(e, "/source/component"_json_pointer);
          if (auto host = str(e, "/source/host"_json_pointer); !host.empty()) {
            source += ", " + host;
          }
          return json{eventSeen(e, "/lastTimestamp", now),
                      str(e, "/type"_json_pointer),
                      str(e, "/reason"_json_pointer),
                      lowered(str(e, "/involvedObject/kind"_json_pointer)) + "/" +
                          str(e, "/involvedObject/name"_json_pointer),
                      str(e, "/involvedObject/fieldPath"_json_pointer),
                      source,
                      str(e, "/message"_json_pointer),
                      eventSeen(e, "/firstTimestamp", now),
                      std::to_string(num(e, "/count"_json_pointer, 1)),
                      str(e, "/metadata/name"_json_pointer)};
        }};
  }
  if (kind == "Namespace") {
    return {{{"Name", "string", 0, kName},
             {"Status", "string", 0, "The status of the namespace"},
             {"Age", "string", 0, kAge}},
            [](const json& n, WallTime now) {
              return json{str(n, "/metadata/name"_json_pointer),
                          str(n, "/status/phase"_json_pointer, "Active"), age(n, now)};
            }};
  }
  if (kind == "ConfigMap" || kind == "Secret") {
    bool secret = kind == "Secret";
    std::vector<Column> columns = {{"Name", "string", 0, kName}};
    if (secret) {
      columns.push_back({"Type", "string", 0, "The type of the secret"});
    }
    columns.push_back({"Data", "integer", 0, "Number of data entries"});
    columns.push_back({"Age", "string", 0, kAge});
    return {columns, [secret](const json& c, WallTime now) {
              size_t data = 0;
              for (const char* field : {"data", "binaryData", "stringData"}) {
                if (c.contains(field) && c[field].is_object()) {
                  data += c[field].size();
                }
              }
              json row = {str(c, "/metadata/name"_json_pointer)};
              if (secret) {
                row.push_back(str(c, "/type"_json_pointer, "Opaque"));
              }
              row.push_back(data);
              row.push_back(age(c, now));
              return row;
            }};
  }
  if (kind == "PodDisruptionBudget") {
    return {
        {{"Name", "string", 0, kName},
         {"Min Available", "string", 0, "The minimum number of pods that must be available."},
         {"Max Unavailable", "string", 0, "The maximum number of pods that may be unavailable."},
         {"Allowed Disruptions", "integer", 0,
          "Calculated number of pods that may be disrupted at this time."},
         {"Age", "string", 0, kAge}},
        [](const json& p, WallTime now) {
          return json{str(p, "/metadata/name"_json_pointer),
                      str(p, "/spec/minAvailable"_json_pointer, "N/A"),
                      str(p, "/spec/maxUnavailable"_json_pointer, "N/A"),
                      num(p, "/status/disruptionsAllowed"_json_pointer), age(p, now)};
        }};
  }
  if (resource.group == "rampart.io") {
    // `kubectl get pgc`: NAME MEMBERS READY PRIMARY PHASE AGE.
    return {{{"Name", "string", 0, kName},
             {"Members", "integer", 0, "Desired number of members."},
             {"Ready", "string", 0, "Members ready in their role, of the desired number."},
             {"Primary", "string", 0, "The member that is primary."},
             {"Phase", "string", 0, "Pending, Creating, Running, Degraded, Failed, Paused."},
             {"Age", "string", 0, kAge},
             {"Write", "string", 1, "Address of the write Service (the primary)."},
             {"Read", "string", 1, "Address of the read Service (the replicas)."}},
            [](const json& c, WallTime now) {
              int64_t members = num(c, "/spec/members"_json_pointer);
              return json{str(c, "/metadata/name"_json_pointer),
                          members,
                          std::to_string(num(c, "/status/readyMembers"_json_pointer)) + "/" +
                              std::to_string(members),
                          str(c, "/status/primary"_json_pointer, "<none>"),
                          str(c, "/status/phase"_json_pointer, "Pending"),
                          age(c, now),
                          str(c, "/status/endpoints/write"_json_pointer, "<none>"),
                          str(c, "/status/endpoints/read"_json_pointer, "<none>")};
            }};
  }
  if (kind == "PersistentVolumeClaim") {
    return {{{"Name", "string", 0, kName},
             {"Status", "string", 0, "The phase of the claim: Pending, Bound or Lost."},
             {"Volume", "string", 0, "The volume the claim is bound to."},
             {"Capacity", "string", 0, "The capacity of the bound volume."},
             {"Access Modes", "string", 0, "The access modes of the bound volume."},
             {"StorageClass", "string", 0, "The storage class of the claim."},
             {"Age", "string", 0, kAge},
             {"VolumeMode", "string", 1, "Filesystem or Block."}},
            [](const json& c, WallTime now) {
              std::vector<std::string> modes;
              for (const auto& m : arr(c, "/status/accessModes"_json_pointer)) {
                std::string mode = m.is_string() ? m.get<std::string>() : "";
                modes.push_back(mode == "ReadWriteOnce"      ? "RWO"
                                : mode == "ReadOnlyMany"     ? "ROX"
                                : mode == "ReadWriteMany"    ? "RWX"
                                : mode == "ReadWriteOncePod" ? "RWOP"
                                                             : mode);
              }
              std::string phase = c.contains("/metadata/deletionTimestamp"_json_pointer)
                                      ? "Terminating"
                                      : str(c, "/status/phase"_json_pointer);
              return json{str(c, "/metadata/name"_json_pointer),
                          phase,
                          str(c, "/spec/volumeName"_json_pointer),
                          str(c, "/status/capacity/storage"_json_pointer),
                          joined(modes, ""),
                          str(c, "/spec/storageClassName"_json_pointer),
                          age(c, now),
                          str(c, "/spec/volumeMode"_json_pointer)};
            }};
  }
  if (kind == "ControllerRevision") {
    return {{{"Name", "string", 0, kName},
             {"Controller", "string", 0, "Controller of the object."},
             {"Revision", "integer", 0, "Revision of the ControllerRevision."},
             {"Age", "string", 0, kAge}},
            [](const json& r, WallTime now) {
              std::string controller = "<none>";
              for (const auto& ref : arr(r, "/metadata/ownerReferences"_json_pointer)) {
                if (ref.value("controller", false)) {
                  std::string api_version = ref.value("apiVersion", "");
                  auto slash = api_version.find('/');
                  std::string kind_name = ref.value("kind", "");
                  std::transform(kind_name.begin(), kind_name.end(), kind_name.begin(),
                                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
                  controller = kind_name +
                               (slash == std::string::npos ? "" : "." + api_version.substr(0, slash)) +
                               "/" + ref.value("name", "");
                }
              }
              return json{str(r, "/metadata/name"_json_pointer), controller,
                          num(r, "/revision"_json_pointer), age(r, now)};
            }};
  }
  if (kind == "Lease") {
    return {{{"Name", "string", 0, kName},
             {"Holder", "string", 0, "The holder of the lease."},
             {"Age", "string", 0, kAge}},
            [](const json& l, WallTime now) {
              return json{str(l, "/metadata/name"_json_pointer),
                          str(l, "/spec/holderIdentity"_json_pointer), age(l, now)};
            }};
  }
  return {{{"Name", "string", 0, kName}, {"Created At", "date", 0, kAge}},
          [](const json& o, WallTime) {
            return json{str(o, "/metadata/name"_json_pointer),
                        str(o, "/metadata/creationTimestamp"_json_pointer)};
          }};
}

}  // namespace

std::optional<WallTime> parseRfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 ||
      std::sscanf(std::string(text.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month,
                  &day, &hour, &minute, &second) != 6 ||
      text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t i = 19;
  int64_t nanos = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (digits < 9) {
        nanos = nanos * 10 + (text[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) {
      return std::nullopt;
    }
    while (digits++ < 9) {
      nanos *= 10;
    }
  }
  int offset_minutes = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i + 6 == text.size() && (text[i] == '+' || text[i] == '-') && text[i + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(text.substr(i + 1)).c_str(), "%2d:%2d", &oh, &om) != 2) {
      return std::nullopt;
    }
    offset_minutes = (text[i] == '-' ? -1 : 1) * (oh * 60 + om);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != text.size()) {
    return std::nullopt;
  }
  using namespace std::chrono;
  auto ymd =
      year_month_day{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                     std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  auto t = sys_days(ymd) + hours(hour) + minutes(minute) + seconds(second) -
           minutes(offset_minutes) + nanoseconds(nanos);
  return time_point_cast<WallTime::duration>(t);
}

std::string formatRfc3339(WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::string humanDuration(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s < -1) {
    return "<invalid>";
  }
  if (s < 0) {
    return "0s";
  }
  if (s < 120) {
    return std::to_string(s) + "s";
  }
  int64_t m = s / 60;
  if (m < 10) {
    return s % 60 == 0 ? std::to_string(m) + "m"
                       : std::to_string(m) + "m" + std::to_string(s % 60) + "s";
  }
  if (m < 180) {
    return std::to_string(m) + "m";
  }
  int64_t h = s / 3600;
  if (h < 8) {
    return m % 60 == 0 ? std::to_string(h) + "h"
                       : std::to_string(h) + "h" + std::to_string(m % 60) + "m";
  }
  if (h < 48) {
    return std::to_string(h) + "h";
  }
  if (h < 24 * 8) {
    return h % 24 == 0 ? std::to_string(h / 24) + "d"
                       : std::to_string(h / 24) + "d" + std::to_string(h % 24) + "h";
  }
  if (h < 24 * 365 * 2) {
    return std::to_string(h / 24) + "d";
  }
  if (h < 24 * 365 * 8) {
    int64_t days = (h / 24) % 365;
    return days == 0 ? std::to_string(h / 24 / 365) + "y"
                     : std::to_string(h / 24 / 365) + "y" + std::to_string(days) + "d";
  }
  return std::to_string(h / 24 / 365) + "y";
}

json makeTable(const ResourceInfo& resource, const std::vector<json>& objects,
               const json& list_metadata, WallTime now) {
  Printer printer = printerFor(resource);
  json rows = json::array();
  for (const auto& object : objects) {
    json meta = object.value("metadata", json::object());
    rows.push_back({{"cells", printer.row(object, now)},
                    {"object",
                     {{"kind", "PartialObjectMetadata"},
                      {"apiVersion", "meta.k8s.io/v1"},
                      {"metadata", meta}}}});
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", list_metadata.is_object() ? list_metadata : json::object()},
          {"columnDefinitions", columnDefinitions(printer.columns)},
          {"rows", rows}};
}

}  // namespace rampart::api

#include "agent/node_spec.h"

#include <time.h>

#include <nlohmann/json.hpp>

#include "api/quantity.h"

namespace rampart::agent {
using json = nlohmann::json;

namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Kubernetes' label name/value rule: at most 63 characters of [A-Za-z0-9_.-], beginning and
// ending with an alphanumeric one (a value may also be empty).
bool isLabelToken(std::string_view s, bool allow_empty) {
  if (s.empty()) {
    return allow_empty;
  }
  if (s.size() > 63 || !isAlnum(s.front()) || !isAlnum(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// A key is [prefix/]name, the prefix a DNS subdomain (lower case, at most 253 characters).
bool isLabelKey(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) {
    return isLabelToken(key, false);
  }
  std::string_view prefix = key.substr(0, slash);
  if (prefix.empty() || prefix.size() > 253) {
    return false;
  }
  for (char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return false;
    }
  }
  return isLabelToken(key.substr(slash + 1), false);
}

}  // namespace

Result<std::map<std::string, std::string>> parseLabels(std::string_view text) {
  std::map<std::string, std::string> labels;
  if (text.empty()) {
    return labels;
  }
  for (auto entry : splitCommas(text)) {
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) {
      return fail(ErrorCode::InvalidArgument, "--labels: \"", std::string(entry),
                  "\" is not key=value");
    }
    std::string_view key = entry.substr(0, eq);
    std::string_view value = entry.substr(eq + 1);
    if (!isLabelKey(key)) {
      return fail(ErrorCode::InvalidArgument, "--labels: invalid label key \"", std::string(key),
                  "\"");
    }
    if (!isLabelToken(value, true)) {
      return fail(ErrorCode::InvalidArgument, "--labels: invalid value \"", std::string(value),
                  "\" for ", std::string(key),
                  ": at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends");
    }
    labels[std::string(key)] = std::string(value);
  }
  return labels;
}

Result<std::vector<std::string>> parseZones(std::string_view text) {
  std::vector<std::string> zones;
  if (text.empty()) {
    return zones;
  }
  for (auto zone : splitCommas(text)) {
    if (!isLabelToken(zone, false)) {
      return fail(ErrorCode::InvalidArgument, "--zones: invalid zone \"", std::string(zone),
                  "\": at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends");
    }
    zones.emplace_back(zone);
  }
  return zones;
}

Result<void> validate(const NodeSpec& spec) {
  // The name is prefix + index: a DNS subdomain in lower case.
  for (char c : spec.name_prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return fail(ErrorCode::InvalidArgument, "--node-name-prefix: \"", spec.name_prefix,
                  "\" may hold only lower-case letters, digits, '-' and '.'");
    }
  }
  if (!spec.name_prefix.empty() && !isAlnum(spec.name_prefix.front())) {
    return fail(ErrorCode::InvalidArgument, "--node-name-prefix: \"", spec.name_prefix,
                "\" must start with a letter or digit");
  }
  if (spec.name_prefix.size() > 200) {
    return fail(ErrorCode::InvalidArgument, "--node-name-prefix: longer than 200 characters");
  }
  auto cpu = api::parseQuantity(spec.cpu);
  if (!cpu || cpu->milli() <= 0) {
    return fail(ErrorCode::InvalidArgument, "--node-cpu: Invalid value: \"", spec.cpu,
                "\": must be a positive quantity (8, 3500m)");
  }
  auto memory = api::parseQuantity(spec.memory);
  if (!memory || memory->milli() <= 0) {
    return fail(ErrorCode::InvalidArgument, "--node-memory: Invalid value: \"", spec.memory,
                "\": must be a positive quantity (32Gi, 512Mi)");
  }
  if (spec.max_pods < 1 || spec.max_pods > kPodSlotsPerNode) {
    return fail(ErrorCode::InvalidArgument,
                "--node-max-pods: Invalid value: ", std::to_string(spec.max_pods), ": must be 1..",
                std::to_string(kPodSlotsPerNode), " (one /24 pod range per node)");
  }
  if (spec.lease_duration < std::chrono::milliseconds(1)) {
    return fail(ErrorCode::InvalidArgument, "--lease-duration: must be at least 1ms");
  }
  return {};
}

std::vector<std::string_view> splitCommas(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) {
      comma = text.size();
    }
    parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}


std::string nodeName(const NodeSpec& spec, int index) {
  return spec.name_prefix + std::to_string(index);
}

std::string nodeZone(const NodeSpec& spec, int index) {
  if (spec.zones.empty()) {
    return "";
  }
  return spec.zones[static_cast<size_t>(index) % spec.zones.size()];
}

std::string nodeInternalIp(int index) {
  uint32_t host = static_cast<uint32_t>(index) + 1;
  return "172." + std::to_string(16 + (host >> 16)) + "." + std::to_string((host >> 8) & 255) +
         "." + std::to_string(host & 255);
}

std::string nodePodCidr(int index) {
  return "10." + std::to_string(64 + index / 256) + "." + std::to_string(index % 256) + ".0/24";
}

std::string podIp(int node_index, int slot) {
  return "10." + std::to_string(64 + node_index / 256) + "." + std::to_string(node_index % 256) +
         "." + std::to_string(slot + 2);
}

std::string formatMicroTime(api::WallTime t) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  std::time_t secs = static_cast<std::time_t>(micros.count() / 1000000);
  int64_t fraction = micros.count() % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    --secs;
  }
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(fraction));
  return buf;
}

json makeNode(const NodeSpec& spec, int index, api::WallTime now) {
  std::string name = nodeName(spec, index);
  std::string at = api::formatRfc3339(now);
  json labels = json::object();
  for (const auto& [k, v] : spec.labels) {
    labels[k] = v;
  }
  labels["kubernetes.io/hostname"] = name;
  labels["kubernetes.io/os"] = "linux";
  labels["kubernetes.io/arch"] = "amd64";
  labels["rampart.io/simulated"] = "true";
  if (std::string zone = nodeZone(spec, index); !zone.empty()) {
    labels["topology.kubernetes.io/zone"] = zone;
  }
  json resources = {{"cpu", spec.cpu},
                    {"memory", spec.memory},
                    {"pods", std::to_string(spec.max_pods)},
                    {"ephemeral-storage", "100Gi"}};
  auto condition = [&](const char* type, const char* status, const char* reason,
                       const char* message) {
    return json{{"type", type},       {"status", status},        {"reason", reason},
                {"message", message}, {"lastHeartbeatTime", at}, {"lastTransitionTime", at}};
  };
  json conditions = json::array({condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                                           "kubelet has sufficient memory available"),
                                 condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                                           "kubelet has no disk pressure"),
                                 condition("PIDPressure", "False", "KubeletHasSufficientPID",
                                           "kubelet has sufficient PID available"),
                                 condition("Ready", "True", "KubeletReady",
                                           "rampart simulated node is posting ready status")});
  std::string id = std::to_string(index);
  return json{
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata",
       {{"name", name},
        {"labels", std::move(labels)},
        {"annotations", {{"node.alpha.kubernetes.io/ttl", "0"}}}}},
      {"spec", {{"podCIDR", nodePodCidr(index)}, {"podCIDRs", json::array({nodePodCidr(index)})}}},
      {"status",
       {{"capacity", resources},
        {"allocatable", resources},
        {"addresses", json::array({{{"type", "InternalIP"}, {"address", nodeInternalIp(index)}},
                                   {{"type", "Hostname"}, {"address", name}}})},
        {"conditions", std::move(conditions)},
        {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
        {"nodeInfo",
         {{"machineID", "rampart-sim-" + id},
          {"systemUUID", "rampart-sim-" + id},
          {"bootID", "rampart-sim-" + id},
          {"kernelVersion", "simulated"},
          {"osImage", "Rampart simulated node"},
          {"containerRuntimeVersion", "rampart-sim://1.0"},
          {"kubeletVersion", kKubeletVersion},
          {"kubeProxyVersion", kKubeletVersion},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"}}}}}};
}

json makeNodeLease(const std::string& name, Duration lease_duration, api::WallTime now) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(lease_duration).count();
  // leaseDurationSeconds is whole seconds: rounded up, so a reader of that field alone never
  // believes the node lost sooner than it does.
  int64_t seconds = std::max<int64_t>(1, (ms + 999) / 1000);
  return json{{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata",
               {{"name", name},
                {"namespace", kLeaseNamespace},
                {"annotations", {{kLeaseDurationAnnotation, std::to_string(ms)}}}}},
              {"spec",
               {{"holderIdentity", name},
                {"leaseDurationSeconds", seconds},
                {"renewTime", formatMicroTime(now)}}}};
}

json makeLease(const NodeSpec& spec, int index, api::WallTime now) {
  return makeNodeLease(nodeName(spec, index), spec.lease_duration, now);
}

}  // namespace rampart::agent

#include "agent/node/node_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/node_spec.h"
#include "api/quantity.h"

namespace rampart::agent::node {
namespace {
using json = nlohmann::json;

constexpr int64_t kMemoryEvictionBytes = 100LL << 20;  // the kubelet's memory.available<100Mi

std::string readFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// "MemTotal:       24576000 kB" → bytes.
int64_t meminfo(const std::string& text, const std::string& key) {
  auto at = text.find(key + ":");
  if (at == std::string::npos) {
    return 0;
  }
  std::istringstream in(text.substr(at + key.size() + 1));
  int64_t kb = 0;
  in >> kb;
  return kb * 1024;
}

std::string osImage() {
  std::ifstream in("/etc/os-release");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string value = line.substr(12);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return "Linux";
}

json condition(const json& old_conditions, const char* type, bool value, const char* reason,
               const char* message, const std::string& at) {
  std::string status = value ? "True" : "False";
  std::string transition = at;
  if (old_conditions.is_array()) {
    for (const json& c : old_conditions) {
      if (c.value("type", "") == type && c.value("status", "") == status &&
          c.contains("lastTransitionTime") && c["lastTransitionTime"].is_string()) {
        transition = c["lastTransitionTime"].get<std::string>();
      }
    }
  }
  return json{{"type", type},       {"status", status},        {"reason", reason},
              {"message", message}, {"lastHeartbeatTime", at}, {"lastTransitionTime", transition}};
}

std::string quantityText(int64_t milli) { return api::Quantity::fromMilli(milli).toString(); }

}  // namespace

Result<MachineFacts> readMachine() {
  MachineFacts facts;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus <= 0) {
    return fail(ErrorCode::Internal, "cannot count this machine's CPUs");
  }
  facts.cpu_milli = cpus * 1000;
  std::ifstream in("/proc/meminfo");
  std::stringstream text;
  text << in.rdbuf();
  facts.memory_bytes = meminfo(text.str(), "MemTotal");
  facts.memory_available_bytes = meminfo(text.str(), "MemAvailable");
  if (facts.memory_bytes <= 0) {
    return fail(ErrorCode::Internal, "cannot read MemTotal from /proc/meminfo");
  }
  facts.pid_max = std::atoll(readFirstLine("/proc/sys/kernel/pid_max").c_str());
  int64_t pids = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
      ++pids;
    }
  }
  facts.pids_in_use = pids;
  struct utsname uts {};
  if (uname(&uts) == 0) {
    facts.hostname = uts.nodename;
    facts.kernel = uts.release;
    std::string machine = uts.machine;
    facts.architecture = machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64" : machine;
  }
  facts.os_image = osImage();
  facts.machine_id = readFirstLine("/etc/machine-id");
  facts.boot_id = readFirstLine("/proc/sys/kernel/random/boot_id");
  return facts;
}

Result<std::pair<int64_t, int64_t>> parseReserved(const std::string& text) {
  int64_t cpu = 0;
  int64_t memory = 0;
  if (text.empty()) {
    return std::make_pair(cpu, memory);
  }
  for (auto part : splitCommas(text)) {
    std::string entry(part);
    auto eq = entry.find('=');
    std::string key = eq == std::string::npos ? entry : entry.substr(0, eq);
    if (eq == std::string::npos || (key != "cpu" && key != "memory")) {
      return fail(ErrorCode::InvalidArgument, "--system-reserved: \"", entry,
                  "\" is not cpu=QUANTITY or memory=QUANTITY");
    }
    auto quantity = api::parseQuantity(entry.substr(eq + 1));
    if (!quantity || quantity->milli() < 0) {
      return fail(ErrorCode::InvalidArgument, "--system-reserved: invalid quantity \"",
                  entry.substr(eq + 1), "\" for ", key);
    }
    (key == "cpu" ? cpu : memory) = key == "cpu" ? quantity->milli() : quantity->milli() / 1000;
  }
  return std::make_pair(cpu, memory);
}

Result<json> parseTaints(const std::string& text) {
  json taints = json::array();
  if (text.empty()) {
    return taints;
  }
  for (auto part : splitCommas(text)) {
    std::string entry(part);
    auto colon = entry.rfind(':');
    if (colon == std::string::npos) {
      return fail(ErrorCode::InvalidArgument, "--register-with-taints: \"", entry,
                  "\" is not key[=value]:Effect");
    }
    std::string effect = entry.substr(colon + 1);
    if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
      return fail(ErrorCode::InvalidArgument, "--register-with-taints: invalid effect \"", effect,
                  "\" in \"", entry, "\": must be NoSchedule, PreferNoSchedule or NoExecute");
    }
    std::string kv = entry.substr(0, colon);
    auto eq = kv.find('=');
    json taint = {{"key", kv.substr(0, eq)}, {"effect", effect}};
    if (eq != std::string::npos) {
      taint["value"] = kv.substr(eq + 1);
    }
    if (taint["key"].get<std::string>().empty()) {
      return fail(ErrorCode::InvalidArgument, "--register-with-taints: \"", entry,
                  "\" has no key");
    }
    taints.push_back(std::move(taint));
  }
  return taints;
}

json nodeConditions(const MachineFacts& facts, const json& old_conditions, api::WallTime now) {
  std::string at = api::formatRfc3339(now);
  bool memory_pressure =
      facts.memory_available_bytes > 0 && facts.memory_available_bytes < kMemoryEvictionBytes;
  bool pid_pressure = facts.pid_max > 0 && (facts.pid_max - facts.pids_in_use) * 20 < facts.pid_max;
  return json::array(
      {condition(old_conditions, "MemoryPressure", memory_pressure,
                 memory_pressure ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory",
                 memory_pressure ? "kubelet has insufficient memory available"
                                 : "kubelet has sufficient memory available",
                 at),
       condition(old_conditions, "DiskPressure", false, "KubeletHasNoDiskPressure",
                 "kubelet has no disk pressure", at),
       condition(old_conditions, "PIDPressure", pid_pressure,
                 pid_pressure ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID",
                 pid_pressure ? "kubelet has insufficient PID available"
                              : "kubelet has sufficient PID available",
                 at),
       condition(old_conditions, "Ready", true, "KubeletReady", "rampart agent is posting ready status",
                 at)});
}

json makeNode(const NodeConfig& config, const MachineFacts& facts, api::WallTime now) {
  json labels = json::object();
  labels["kubernetes.io/hostname"] = config.name;
  labels["kubernetes.io/os"] = "linux";
  labels["kubernetes.io/arch"] = facts.architecture.empty() ? "amd64" : facts.architecture;
  for (const auto& [k, v] : config.labels) {
    labels[k] = v;
  }
  json capacity = {{"cpu", quantityText(facts.cpu_milli)},
                   {"memory", quantityText(facts.memory_bytes * 1000)},
                   {"pods", std::to_string(config.max_pods)}};
  json allocatable = {
      {"cpu", quantityText(std::max<int64_t>(0, facts.cpu_milli - config.reserved_cpu_milli))},
      {"memory",
       quantityText(std::max<int64_t>(0, facts.memory_bytes - config.reserved_memory_bytes) * 1000)},
      {"pods", std::to_string(config.max_pods)}};
  json addresses = json::array();
  if (!config.internal_ip.empty()) {
    addresses.push_back({{"type", "InternalIP"}, {"address", config.internal_ip}});
  }
  addresses.push_back({{"type", "Hostname"}, {"address", config.name}});
  json spec = json::object();
  if (!config.pod_cidr.empty()) {
    spec["podCIDR"] = config.pod_cidr;
    spec["podCIDRs"] = json::array({config.pod_cidr});
  }
  if (!config.taints.empty()) {
    spec["taints"] = config.taints;
  }
  return json{{"apiVersion", "v1"},
              {"kind", "Node"},
              {"metadata",
               {{"name", config.name},
                {"labels", std::move(labels)},
                {"annotations", {{"node.alpha.kubernetes.io/ttl", "0"}}}}},
              {"spec", std::move(spec)},
              {"status",
               {{"capacity", std::move(capacity)},
                {"allocatable", std::move(allocatable)},
                {"addresses", std::move(addresses)},
                {"conditions", nodeConditions(facts, json::array(), now)},
                {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", config.port}}}}},
                {"nodeInfo",
                 {{"machineID", facts.machine_id},
                  {"systemUUID", facts.machine_id},
                  {"bootID", facts.boot_id},
                  {"kernelVersion", facts.kernel},
                  {"osImage", facts.os_image},
                  {"containerRuntimeVersion", "rampart://1.0"},
                  {"kubeletVersion", kKubeletVersion},
                  {"kubeProxyVersion", kKubeletVersion},
                  {"operatingSystem", "linux"},
                  {"architecture", facts.architecture.empty() ? "amd64" : facts.architecture}}}}}};
}

}  // namespace rampart::agent::node

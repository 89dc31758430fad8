#pragma once
// The Node a real agent registers and keeps up to date: capacity from the machine, allocatable =
// capacity − the operator's reservations (--system-reserved), the node's addresses, conditions
// Ready / MemoryPressure / DiskPressure / PIDPressure, nodeInfo and the agent's port.
//   readMachine()   reads the facts (/proc, /etc, sysconf) — the only I/O here;
//   makeNode()      builds the object from them, pure;
//   nodeConditions() the conditions alone (the periodic status update), pure: MemoryPressure
//                   when MemAvailable is under the hard eviction threshold (100 Mi, the
//                   kubelet's memory.available default), PIDPressure when fewer than 5 % of
//                   pid_max are free.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"
#include "base/result.h"

namespace rampart::agent::node {

struct MachineFacts {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  int64_t memory_available_bytes = 0;
  int64_t pid_max = 0;
  int64_t pids_in_use = 0;
  std::string hostname;
  std::string kernel;
  std::string os_image;
  std::string architecture;  // Kubernetes' GOARCH names: amd64, arm64
  std::string machine_id;
  std::string boot_id;
};

Result<MachineFacts> readMachine();

struct NodeConfig {
  std::string name;
  std::map<std::string, std::string> labels;
  nlohmann::json taints = nlohmann::json::array();  // registered with the node
  std::string internal_ip;
  std::string pod_cidr;  // "" when the node has no pod network of its own (host network only)
  int max_pods = 110;
  int64_t reserved_cpu_milli = 0;
  int64_t reserved_memory_bytes = 0;
  int port = 10250;  // the node API (logs, exec)
};

// "cpu=500m,memory=1Gi" → reservations; errors name --system-reserved and the bad entry.
Result<std::pair<int64_t, int64_t>> parseReserved(const std::string& text);
// "key=value:Effect,key2:Effect" → taints; errors name --register-with-taints.
Result<nlohmann::json> parseTaints(const std::string& text);

nlohmann::json nodeConditions(const MachineFacts& facts, const nlohmann::json& old_conditions,
                              api::WallTime now);
nlohmann::json makeNode(const NodeConfig& config, const MachineFacts& facts, api::WallTime now);

}  // namespace rampart::agent::node

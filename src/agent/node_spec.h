#pragma once
// What a simulated ("hollow") node looks like to the API: the Node object an agent registers and
// the Lease it renews, built from the operator's flags. The Kubemark/KWOK idea: nodes that the
// control plane cannot tell from real ones (labels, capacity, conditions, nodeInfo, leases),
// without any process behind their pods. Pure functions; wall time is passed in.
//
// Addresses are synthetic and unique per node index: the node's InternalIP is 172.16.0.0/12
// + index + 1, its pod range the /24 10.(64 + index / 256).(index % 256).0, which holds
// 253 pods (.2-.254) — above the default --node-max-pods 110 — for up to 16,384 nodes.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/table.h"
#include "base/clock.h"
#include "base/result.h"

namespace rampart::agent {

inline constexpr int kMaxSimulatedNodes = 16384;
inline constexpr const char* kKubeletVersion = "v1.32.0-rampart";
inline constexpr const char* kLeaseNamespace = "kube-node-lease";
// Lease durations shorter than a second are carried here in milliseconds (the Lease's own
// leaseDurationSeconds is whole seconds); the controller's node lifecycle reads it.
inline constexpr const char* kLeaseDurationAnnotation = "rampart.io/lease-duration-ms";

struct NodeSpec {
  std::string name_prefix = "sim-";
  std::map<std::string, std::string> labels;  // extra labels on every node
  std::vector<std::string> zones;             // round-robin; empty: no zone label
  std::string cpu = "8";
  std::string memory = "32Gi";
  int max_pods = 110;
  Duration lease_duration = std::chrono::milliseconds(800);
};

// InvalidArgument naming the flag (--node-cpu, --node-memory, --node-max-pods, --zones, ...).
Result<void> validate(const NodeSpec& spec);
// "a,,b" → {"a", "", "b"}: every part, empty ones too, so flag parsers can refuse them.
std::vector<std::string_view> splitCommas(std::string_view text);
// "k=v,k2=v2" → labels; errors name --labels and the bad entry.
Result<std::map<std::string, std::string>> parseLabels(std::string_view text);
// "a,b,c" → zones; errors name --zones.
Result<std::vector<std::string>> parseZones(std::string_view text);

std::string nodeName(const NodeSpec& spec, int index);
std::string nodeZone(const NodeSpec& spec, int index);  // "" without zones
std::string nodeInternalIp(int index);
std::string nodePodCidr(int index);
// The index'th usable pod address of node `node_index` (slot 0 → .2).
std::string podIp(int node_index, int slot);
inline constexpr int kPodSlotsPerNode = 253;

// RFC 3339 with microseconds ("2026-12-06T17:40:01.123456Z"), a Lease's MicroTime.
std::string formatMicroTime(api::WallTime t);

// The Node as registered: labels, capacity = allocatable, addresses, Ready and the pressure
// conditions, nodeInfo, daemonEndpoints; spec.podCIDR.
nlohmann::json makeNode(const NodeSpec& spec, int index, api::WallTime now);
// The node's Lease in kube-node-lease (holder: the node, as the kubelet's), renewed at `now`.
nlohmann::json makeLease(const NodeSpec& spec, int index, api::WallTime now);
// The same for any node (real agents too): the duration in whole seconds, rounded up, and in
// milliseconds in the kLeaseDurationAnnotation.
nlohmann::json makeNodeLease(const std::string& name, Duration lease_duration, api::WallTime now);

}  // namespace rampart::agent

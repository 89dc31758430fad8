#pragma once
// Service node ports (kube-apiserver's --service-node-port-range, default 30000-32767): the
// range, what a Service asks for (spec.ports[].nodePort given, or left to the server), the
// choice of free ports, the update rules (ports kept, cleared when the type no longer needs
// them) and the 422 details in Kubernetes' wording. Pure; the allocation itself is an etcd
// transaction in the handler (handler_service.cc), where the uniqueness invariant is written.
//
// As in Kubernetes, the allocator knows port numbers, not protocols: one node port is held by
// one Service whatever the protocol, and within a Service the TCP and UDP entries of one port
// number share it (an unset nodePort takes that of another entry with the same `port`). As in
// Kubernetes (ServiceNodePortStaticSubrange), the server picks from the upper band first so
// that the lower min(max(16, size/32), 128) ports stay free for ports users request.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/status.h"
#include "base/result.h"

namespace rampart::api {

class PortRange {
 public:
  // "30000-32767", "30000+2767" or one port "30080" (Kubernetes' net.ParsePortRange);
  // InvalidArgument naming the problem (not numbers, end before start, outside 1..65535).
  static Result<PortRange> parse(std::string_view text);

  bool contains(int port) const { return port >= base_ && port - base_ < size_; }
  int base() const { return base_; }
  int size() const { return size_; }
  // Offsets [0, staticBandSize()) are the lower band, picked from only when the upper is full.
  int staticBandSize() const;
  std::string toString() const;  // "30000-32767"

 private:
  int base_ = 30000;
  int size_ = 2768;
};

// 30000-32767, kube-apiserver's default --service-node-port-range.
PortRange defaultNodePortRange();

// Whether the type's ports have node ports at all (NodePort, LoadBalancer).
bool needsNodePorts(const nlohmann::json& service);

// One spec.ports entry that gets (or keeps) a node port.
struct NodePortWish {
  size_t index = 0;   // in spec.ports
  int port = 0;       // the Service port (entries of one port number share a node port)
  int node_port = 0;  // requested; 0: the server picks
};
// The entries that get a node port: every one of a NodePort Service, and of a LoadBalancer one
// unless spec.allocateLoadBalancerNodePorts is false; of other types (and such LoadBalancers)
// the requested ones only, so that every nodePort a Service shows is one it holds.
std::vector<NodePortWish> nodePortWishesOf(const nlohmann::json& service);

// Kubernetes' validation of spec.ports[].nodePort: 1..65535, not on a ClusterIP Service, no
// (protocol, nodePort) twice.
FieldErrors validateNodePorts(const nlohmann::json& service);

// The distinct node ports a stored Service holds (one claim each).
std::set<int> nodePortsOf(const nlohmann::json& service);

// Before an update is validated: a Service whose new type needs no node ports and whose
// nodePorts were left as they were loses them (NodePort → ClusterIP releases); one that still
// needs them gets back, by port name, those the update left unset (kube-apiserver's
// dropTypeDependentFields and patchAllocatedValues).
void keepNodePorts(nlohmann::json& next, const nlohmann::json& current);

// A free port from `range` not in `taken`, upper band first, starting at `random` within the
// band (so that concurrent servers rarely pick the same one); nullopt when the range is full.
std::optional<int> pickFreePort(const PortRange& range, const std::set<int>& taken,
                                uint64_t random);

struct NodePortAllocation {
  std::map<size_t, int> node_ports;  // spec.ports index → its node port
  std::set<int> held;                // the distinct ports the Service holds afterwards
  FieldErrors errors;                // 422: a requested port outside the range or taken
  bool full = false;                 // no free port left for an unset one
};
// Decides every wish: `own` are the ports the Service holds already (its stored version's; kept
// without a check), `taken` every port claimed now (own ones included).
NodePortAllocation allocateNodePorts(const std::vector<NodePortWish>& wishes,
                                     const PortRange& range, const std::set<int>& own,
                                     const std::set<int>& taken, uint64_t random);

// Writes the allocation's node ports into spec.ports.
void setNodePorts(nlohmann::json& service, const NodePortAllocation& allocation);

// 422 details, Kubernetes' wording (field spec.ports[i].nodePort).
FieldError nodePortNotInRange(size_t index, int port, const PortRange& range);
FieldError nodePortAlreadyAllocated(size_t index, int port);

}  // namespace rampart::api

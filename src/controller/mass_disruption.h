#pragma once
// Mass failure is not a node failure (Kubernetes' zone-disruption rule, in Rampart's terms): when
// many nodes go quiet at once, the likelier cause is the control plane's own network or an API
// outage, not that many machines died — evicting their pods would move every workload at once
// for nothing, or onto the few nodes left. So the taint manager evicts nothing while
//   - every node is down (N ≥ 2): the nodes are fine, we are cut off;
//   - more than one zone is entirely down at once;
//   - more than `unhealthy_threshold` of the nodes are down (N ≥ 3; Kubernetes'
//     --unhealthy-zone-threshold, 0.55).
// One node down, or one whole zone down while the others are healthy, is a real failure: its
// pods are replaced. Nodes keep being marked NotReady and their pods not ready (endpoints drop
// them) either way; only evictions wait. Pure.

#include <map>
#include <string>

namespace rampart::controller {

struct ZoneHealth {
  int nodes = 0;
  int down = 0;  // no sign of life within the grace
};

struct DisruptionVerdict {
  bool evictions_allowed = true;
  std::string reason;
};

inline constexpr double kUnhealthyThreshold = 0.55;

// `zones`: by the nodes' topology.kubernetes.io/zone label ("" for nodes without one).
DisruptionVerdict decideMassDisruption(const std::map<std::string, ZoneHealth>& zones,
                                       double unhealthy_threshold = kUnhealthyThreshold);

}  // namespace rampart::controller

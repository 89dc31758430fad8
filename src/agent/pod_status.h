#pragma once
// What a simulated node does about one pod bound to it, as a pure function of the pod it
// observed: the kubelet's visible behaviour with nothing run.
//   - deletionTimestamp set → FinalDelete: the kubelet's last step once the containers are gone
//     (DELETE with gracePeriodSeconds=0 and the pod's uid as precondition, so a new pod of the
//     same name is never deleted in its place);
//   - Succeeded/Failed → nothing (a simulated container never ends on its own);
//   - already Running and Ready with its IP → nothing (writing again would only add load);
//   - otherwise → SetStatus: phase Running; PodScheduled, PodReadyToStartContainers,
//     Initialized, ContainersReady and Ready True; one running, ready, started status per
//     container (init containers terminated, Completed); podIP(s), hostIP(s), startTime,
//     qosClass. Times already set (startTime, a condition's lastTransitionTime that keeps its
//     status) are kept, as the kubelet keeps them.
// Readiness gates are not simulated: Ready is True as soon as the containers run.

#include <string>

#include <nlohmann/json.hpp>

#include "api/table.h"

namespace rampart::agent {

struct PodAction {
  enum class Kind { None, SetStatus, FinalDelete };
  Kind kind = Kind::None;
  nlohmann::json status;  // SetStatus: the pod's whole new status
  std::string reason;     // for logs
};

struct PodPlacement {
  std::string host_ip;
  std::string pod_ip;
};

PodAction decidePod(const nlohmann::json& pod, const PodPlacement& placement, api::WallTime now);

// Kubernetes' QoS class from the containers' requests and limits.
std::string qosClass(const nlohmann::json& pod_spec);

// "namespace/name".
std::string podKey(const nlohmann::json& pod);

}  // namespace rampart::agent

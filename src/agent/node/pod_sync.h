#pragma once
// What the agent does about one pod bound to its node, decided as a pure function of what it
// observed (the kubelet's syncPod, without the I/O):
//   deleting   (deletionTimestamp set): kill every running container with the pod's grace; once
//              none runs, write the final status and delete the pod object (grace 0, the pod's
//              uid as precondition, so a new pod of the same name is never deleted in its place).
//   terminal   (phase Succeeded/Failed): nothing is started again.
//   init       init containers run one at a time, in order; each must exit 0 before the next
//              starts. A failed one restarts (back-off) unless restartPolicy is Never, which
//              fails the pod.
//   containers start together once initialised; an exited container restarts when the policy
//              says so (Always; OnFailure and a non-zero exit), not before its back-off has
//              passed (waiting: CrashLoopBackOff); a container the probes condemned (liveness
//              or startup failure) is killed, and then restarts like any other exit.
//   status     phase, conditions (PodScheduled, PodReadyToStartContainers, Initialized,
//              ContainersReady, Ready — readiness gates honoured), podIP(s), hostIP(s),
//              startTime, qosClass and one status per container (state, lastState, ready,
//              started, restartCount, containerID). Times already written are kept, so the same
//              facts give the same status and nothing is written again.
// Attempts: a container's attempt number is its restartCount (0 for the first run).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"
#include "base/clock.h"

namespace rampart::agent::node {

// One run of a container as the runtime saw it.
struct ObservedContainer {
  int attempt = 0;
  bool running = false;
  api::WallTime started_at{};
  std::optional<api::WallTime> finished_at;
  int exit_code = 0;
  std::string reason;   // Completed, Error, OOMKilled, StartError
  std::string message;
};

// What the probes say about a running container (no probe: started and ready).
struct ContainerHealth {
  bool started = true;
  bool ready = true;
  bool restart_needed = false;  // liveness or startup failed
  std::string message;          // why (for the event and the kill reason)
};

struct BackOff {
  TimePoint until{};  // no start before this (steady clock)
  Duration delay{};   // the delay that was chosen (for the CrashLoopBackOff message)
};

struct PodFacts {
  nlohmann::json pod;
  std::map<std::string, ObservedContainer> current;   // latest attempt per container name
  std::map<std::string, ObservedContainer> previous;  // the attempt before, when known
  std::map<std::string, ContainerHealth> health;
  std::map<std::string, BackOff> backoff;
  std::map<std::string, std::string> config_errors;   // CreateContainerConfigError messages
  bool network_ready = false;
  std::string pod_ip;
  std::string host_ip;
  api::WallTime wall_now{};
  TimePoint now{};
};

struct StartContainer {
  std::string name;
  int attempt = 0;
  bool init = false;
};

struct KillContainer {
  std::string name;
  Duration grace{};
  std::string reason;  // Killing (deletion), or the probe's message
};

struct SyncAction {
  std::vector<StartContainer> start;
  std::vector<KillContainer> kill;
  std::optional<nlohmann::json> status;  // the pod's whole new status, when it changed
  bool final_delete = false;             // every container is gone: delete the object
  bool release = false;                  // terminal or deleted: free the pod's resources
  std::string reason;                    // for logs
};

SyncAction syncPod(const PodFacts& facts);

// The grace a deleting pod's containers get: metadata.deletionGracePeriodSeconds, else
// spec.terminationGracePeriodSeconds, else 30 s.
Duration terminationGrace(const nlohmann::json& pod);

// "rampart://<pod uid>/<container>/<attempt>".
std::string containerId(const std::string& pod_uid, const std::string& name, int attempt);

}  // namespace rampart::agent::node

#pragma once
// The node lifecycle controller's decision: is a node still alive, and what its Ready condition
// and taints must say. Liveness is judged on the controller's OWN monotonic clock: observeNode()
// records when the controller last saw the node's Lease renewTime (namespace kube-node-lease,
// name = node) or its Ready heartbeat change — the writer's timestamps are compared only for
// equality, never trusted as times, so a skewed or stepped clock on the node can neither keep a
// dead node alive nor kill a live one (kube-controller-manager's probeTimestamp).
//   - first sight (a new controller leader): the grace starts then, so a takeover never marks
//     healthy nodes down;
//   - no change for longer than `grace`: Ready (and the pressure conditions present) become
//     Unknown, reason NodeStatusUnknown, "Kubelet stopped posting node status." (Ready never
//     posted: NodeStatusNeverUpdated, "Kubelet never posted node status."); the pods on the node
//     are marked not Ready so endpoints drop them; event NodeNotReady;
//   - taints follow Ready: Unknown → node.kubernetes.io/unreachable NoSchedule + NoExecute
//     (timeAdded now), False → node.kubernetes.io/not-ready NoSchedule + NoExecute, True →
//     neither (the agent sets Ready True again; this controller only takes the taints off);
//     spec.unschedulable (a cordon) → node.kubernetes.io/unschedulable NoSchedule, until
//     uncordoned (kube-controller-manager's TaintNodesByCondition).
// Fencing: a node that stops renewing its Lease must stop its pods by its own deadline (the
// agent's contract: lease renewal sent + lease duration − margin, on its clock). `fenced` says
// that moment has passed as seen from here: `fence_after` since the last observed change, so
// set fence_after ≥ the agent's self-fencing deadline. Replacing a unique pod before then could
// run two copies; the taint manager (taints.h) holds evictions from unreachable nodes until
// `fenced`. Pure functions; a NodeProbe per node is the caller's state.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/table.h"
#include "base/clock.h"
#include "controller/pod_util.h"

namespace rampart::controller {

struct NodeProbe {
  bool seen = false;
  std::string marker;       // the Lease renewTime and Ready heartbeat last seen, as written
  TimePoint last_change{};  // the controller's monotonic time it saw the marker change
};

// Records what the controller sees now; `lease` may be null (no Lease: the Ready heartbeat
// alone counts).
void observeNode(NodeProbe& probe, const nlohmann::json& node, const nlohmann::json& lease,
                 TimePoint now);

struct NodeLifecycleConfig {
  Duration grace = std::chrono::seconds(40);        // Kubernetes' node-monitor-grace-period
  Duration fence_after = std::chrono::seconds(40);  // ≥ the agent's self-fencing deadline
};

// Whether the controller may judge nodes at all: only while its view of the Leases is fresh,
// i.e. its Lease informer heard from the API (an event or a bookmark; `heard` counts them)
// within `window`. A controller whose watch is held by a stalled API server (frozen, cut off)
// sees no renewal from ANY node; judging then would mark every node NotReady (and take every
// pod out of its Services) for the controller's own blindness. So a blind controller holds its
// decisions, and when it sees again the time it could not see does not count against any node:
// each node's last observed change moves forward by `blind_for` (the silence beyond `window`).
// Only that excess, not a full new grace, so that a view flickering under load (a late
// bookmark) delays judgements by the flicker alone. Keep window > the server's bookmark
// interval (a quiet but healthy watch) and < grace (so blindness is known before any node's
// grace can run out): 250 ms bookmarks < window = grace/2 = 500 ms < grace = 1 s by default.
struct ViewFreshness {
  uint64_t heard = 0;
  TimePoint heard_at{};
  bool started = false;
  bool blind = false;
};
struct ViewVerdict {
  bool fresh = true;
  bool regained = false;  // blind until now
  Duration blind_for{};   // with regained: how long beyond `window` nothing was heard
};
ViewVerdict observeView(ViewFreshness& view, uint64_t heard, TimePoint now, Duration window);

struct NodeLifecycleDecision {
  nlohmann::json conditions;  // null: unchanged; else the node's new status.conditions
  nlohmann::json taints;      // null: unchanged; else the node's new spec.taints
  std::vector<std::string> pods_not_ready;  // namespace/name: set their Ready condition False
  std::vector<ControllerEvent> events;
  bool alive = true;    // a change was seen within `grace`
  bool fenced = false;  // no change for `fence_after`: the node's pods have stopped
  std::string reason;
};

NodeLifecycleDecision decideNodeLifecycle(const nlohmann::json& node, const NodeProbe& probe,
                                          TimePoint now, api::WallTime wall_now,
                                          const NodeLifecycleConfig& config,
                                          const std::vector<nlohmann::json>& pods_on_node);

}  // namespace rampart::controller

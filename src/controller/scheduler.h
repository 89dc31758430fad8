#pragma once
// The scheduler's decision: which node a pending pod goes to, or why it fits nowhere, as
// kube-scheduler 1.32's default profile decides it. Pure: the caller lists nodes and pods, binds
// (`pods/binding`) and writes the events; nothing here does I/O.
//
// Filters, in kube-scheduler's order; a node is reported under the first one it fails:
//   NodeUnschedulable  spec.unschedulable, unless the pod tolerates
//   node.kubernetes.io/unschedulable TaintToleration    untolerated NoSchedule/NoExecute taints. A
//   node whose Ready condition is
//                      False (Unknown) counts as tainted node.kubernetes.io/not-ready
//                      (unreachable):NoSchedule even before the node lifecycle controller writes
//                      the taint; a node with no Ready condition at all is not judged by it.
//   NodeAffinity       spec.nodeSelector and requiredDuringScheduling node affinity
//   NodeResourcesFit   requests vs allocatable minus the requests of the pods on the node (cpu,
//                      memory, pods); missing allocatable counts as zero, as on Kubernetes
//   PodTopologySpread  DoNotSchedule constraints (maxSkew, minDomains, matchLabelKeys). The
//                      nodes that are domains, and whose pods count, are those with every
//                      topology key of the pod's constraints that pass the constraint's node
//                      inclusion policies: nodeAffinityPolicy Honor (the default) keeps only
//                      nodes matching the pod's nodeSelector and required node affinity;
//                      nodeTaintsPolicy Honor (default Ignore) keeps only nodes whose
//                      NoSchedule/NoExecute taints the pod tolerates (including the taints
//                      node lifecycle writes on Kubernetes, implied here: not-ready/unreachable
//                      from the Ready condition, node.kubernetes.io/unschedulable on a cordoned
//                      node). Terminating pods (deletionTimestamp set) count in no domain, as
//                      in kube-scheduler, though they still hold their node's resources. So
//                      when a zone's only node is lost, its pods are terminating and the zone
//                      counts 0: with maxSkew 1 and the default nodeTaintsPolicy Ignore every
//                      replacement stays Pending until the node returns, as on Kubernetes;
//                      with nodeTaintsPolicy Honor the tainted node is no domain and the
//                      replacements go to the other zones.
//   InterPodAffinity   required pod affinity, required anti-affinity, and the anti-affinity of
//                      pods already placed (symmetry); topologyKey is any node label
// The FailedScheduling message is kube-scheduler 1.32's: "0/6 nodes are available: 3 Insufficient
// memory, 3 node(s) didn't match pod anti-affinity rules. preemption: 0/6 nodes are available: 6
// No preemption victims found for incoming pod.." (count-prefixed reasons sorted as text; the
// preemption tail counts nodes failing an Unschedulable filter as "No preemption victims found
// for incoming pod" and nodes failing an UnschedulableAndUnresolvable one (cordon, taints, node
// affinity, a missing spread label, pod affinity) as "Preemption is not helpful for
// scheduling"; preemptionPolicy Never reads "not eligible due to preemptionPolicy=Never.").
// Rampart never preempts, so the tail is what kube-scheduler says when it finds no victims.
//
// Scores of the feasible nodes, each 0..100 then weighted as the default profile:
// TaintToleration ×3 (PreferNoSchedule taints), NodeAffinity ×2 (preferred terms),
// PodTopologySpread ×2 (ScheduleAnyway constraints, with the same node inclusion and
// terminating pods as the filter, a domain scoring count × log(domains of the feasible nodes
// + 2) + maxSkew − 1 as kube-scheduler's scoreForCount; a pod with no constraints and a controller owner gets
// Kubernetes' system defaults: hostname maxSkew 3, zone maxSkew 5, selecting its siblings by
// their labels), InterPodAffinity ×2 (preferred affinity and anti-affinity),
// NodeResourcesFit ×1 (least allocated, with Kubernetes' non-zero defaults of 100m cpu and
// 200Mi memory for pods that request nothing). Ties go to the first node by name, so a decision
// is reproducible.
//
// Speed: ClusterState parses nodes once and keeps per-node accounting (requests, pod counts,
// per-selector match counts for spread and affinity) that schedule() updates incrementally when
// it places a pod, so a batch costs O(pods × nodes) cheap comparisons, not label matching over
// all placed pods. Not thread-safe; one scheduling loop owns it.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "controller/pod_util.h"

namespace rampart::controller {

// On success the caller binds (pods/binding) and records `event` (Normal Scheduled,
// "Successfully assigned default/web-1 to node-3"); on failure it sets the pod's condition
// PodScheduled=False, reason Unschedulable, with `message`, and records `event` (Warning
// FailedScheduling, the same message), as kube-scheduler does.
struct ScheduleDecision {
  std::string pod;        // namespace/name
  std::string node;       // the chosen node; empty when the pod fits nowhere
  std::string message;    // empty node: the FailedScheduling event message
  std::string reason;     // for the log: the winner's score, or why the pod was not considered
  ControllerEvent event;  // Scheduled or FailedScheduling, about the pod
};

class ClusterState {
 public:
  // `pods`: every pod the API lists; those bound (spec.nodeName) to a listed node and not
  // finished (Succeeded/Failed) count against it. Unlisted nodes' pods are ignored.
  ClusterState(const std::vector<nlohmann::json>& nodes, const std::vector<nlohmann::json>& pods);
  ~ClusterState();
  ClusterState(ClusterState&&) noexcept;
  ClusterState& operator=(ClusterState&&) noexcept;

  // Decides for one pending pod (a pod already bound keeps its node, reason "already bound",
  // and no event). On success the pod is accounted on its node (as kube-scheduler
  // "assumes" it before the binding is written), so the next decision sees it; if the binding
  // then fails, the caller rebuilds the state from a fresh list.
  ScheduleDecision schedule(const nlohmann::json& pod);
  // Accounts a pod bound elsewhere (e.g. seen by a watch) on `node`; unknown nodes are ignored.
  // Pods are known by namespace/name: adding one already accounted on that node (a pod this
  // state placed, now seen bound) changes nothing; on another node it moves.
  void addPod(const nlohmann::json& pod, const std::string& node);
  // Releases a pod's share (deleted, or finished: Succeeded/Failed); unknown pods are ignored.
  void removePod(const nlohmann::json& pod);

  size_t nodeCount() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One pod against a snapshot.
ScheduleDecision decideSchedule(const nlohmann::json& pod, const std::vector<nlohmann::json>& nodes,
                                const std::vector<nlohmann::json>& pods);

// Pending pods in order (the caller's queue order: Kubernetes sorts by priority, then by time
// queued), each placed with the previous ones accounted.
std::vector<ScheduleDecision> scheduleBatch(const std::vector<nlohmann::json>& pending,
                                            const std::vector<nlohmann::json>& nodes,
                                            const std::vector<nlohmann::json>& pods);

}  // namespace rampart::controller

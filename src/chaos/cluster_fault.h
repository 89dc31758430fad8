#pragma once
// Cluster faults for `rampart chaos cluster` against a `rampart up` cluster (cluster/state.h), as
// pure data and pure functions: which nodes, processes and links a fault touches (the plan), and
// the verdicts from what was observed meanwhile (the checkers). No I/O here: cluster_fault_io.h
// injects and heals a plan, cluster_run.h observes a run and calls the judges below, so every
// rule is unit-tested with hand-built samples (chaos/checker.h is the model).
//
// Faults (action x scope):
//   kill-{master,worker,zone}       SIGKILL every process of the node(s) and their pods: the
//                                   machine dies. Healed by `rampart up --dir D`.
//   freeze-{master,worker,zone}     SIGSTOP the same (a stalled machine); healed by SIGCONT.
//   partition-{master,worker,zone}  the node's cable is pulled: its veth's hub end goes down.
//   etcd-member                     SIGKILL only the etcd member of one master.
//   two-masters                     kill two masters: etcd loses quorum, the API stops answering,
//                                   running pods must keep running (static stability).
// A zone fault hits every node of the zone. The client (the API probe) runs in a node the fault
// does not touch, a worker when there is one.
//
// Checkers (each one applicable or not to a fault; a run passes when every applicable one does):
//   api              from the client, every 10 ms through the node's VIP on a new connection:
//                    failed requests and the longest gap between successes. Kill: 0 failed and
//                    gap <= kill_gap (a dead server refuses, the VIP retries the next one).
//                    Freeze/partition/etcd: gap <= stall_gap (a stalled server accepts then
//                    hangs; the probe's request timeout and the VIP's check bound the wait).
//   api-unavailable  quorum lost (two-masters): at least one request failed during the fault.
//   api-after-heal   no request failed after the heal (after the cluster is healthy again when
//                    the API was expected down).
//   controller-handover  the controllers' Lease moved to another node within `handover`.
//   pod-replacement  every Ready ReplicaSet pod on the faulted nodes has a new Ready copy on a
//                    node not faulted within `replacement`.
//   survivor-pods    every Ready ReplicaSet pod on the nodes not faulted stays listed and Ready in
//                    every sample during the run: the fault costs the rest of the cluster nothing
//                    (a pod marked not Ready leaves its Services' endpoints).
//   static-stability quorum lost: every pod process on the nodes not faulted still runs.
//   healthy-after    `rampart status --json` says healthy within the heal timeout.
//   never-twice      (with a StatefulSet history) no two copies of a pod ran at once.
//
// Thread-safe (values only).

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "cluster/api_probe.h"
#include "cluster/state.h"

namespace rampart::chaos {

enum class FaultAction { Kill, Freeze, Partition, KillEtcd };
enum class FaultScope { Master, Worker, Zone, TwoMasters };

struct FaultKind {
  FaultAction action = FaultAction::Kill;
  FaultScope scope = FaultScope::Master;
};

// "kill-master", "freeze-zone", "etcd-member", "two-masters", ...
Result<FaultKind> parseFault(std::string_view name);
std::string faultName(FaultKind kind);
std::vector<std::string> faultNames();

// What the planner may consult besides the cluster's state.
struct PlanFacts {
  std::string controller_holder;            // the Lease's holder ("" unknown)
  std::map<std::string, int> pods_by_node;  // Ready ReplicaSet pods per node
};

struct FaultPlan {
  FaultKind kind;
  std::string target;                  // the node or zone named (or chosen by default)
  std::vector<std::string> nodes;      // the nodes whose processes/links the fault touches
  std::string hub_netns;               // partition: the hub namespace ("<cluster>-lab")
  std::vector<std::string> hub_links;  // partition: each node's veth end in the hub ("v3")
  pid_t etcd_pid = 0;                  // etcd-member: the member's recorded PID
  std::string probe_node;              // where the API client runs: never faulted
  std::vector<std::string> survivors;  // nodes not faulted
  bool hits_controller = false;        // the controllers' holder is among `nodes`
  bool api_stays_available = true;     // a majority of etcd members and API servers remain
  bool heal_by_up = false;             // healed by `rampart up --dir D` (processes died)
  std::string summary;                 // one line saying what is done
};

// `target`: a node (master/worker faults, etcd-member), a zone (zone faults), or for
// two-masters the master that stays; "" picks: the controllers' holder for a master fault, the
// worker with the most pods for a worker fault, that worker's zone for a zone fault, the first
// master for etcd-member; two-masters kills the first two masters other than the one that
// stays (default: the last). InvalidArgument for a target of the wrong kind; FailedPrecondition
// when the cluster cannot take the fault (no worker, fewer than 3 masters for two-masters, nowhere
// left to run the client).
Result<FaultPlan> planFault(const cluster::ClusterState& state, FaultKind kind,
                            const std::string& target, const PlanFacts& facts);

// What a run observed, in the runner's monotonic time.
struct HolderSample {
  TimePoint at{};
  std::string holder;  // "" : could not read
};

struct PodView {
  std::string ns;
  std::string name;
  std::string node;
  std::string owner;  // "ReplicaSet/web-5d8f" ("" none)
  bool ready = false;
};

struct PodSample {
  TimePoint at{};
  std::vector<PodView> pods;
};

struct ClusterLimits {
  // A SIGKILLed server refuses connections and the VIP retries the next server at once; what is
  // left is one in-flight request's loss of its connection and the VIP's 200 ms check.
  Duration kill_gap = std::chrono::milliseconds(1500);
  // A stalled server accepts (the kernel completes the handshake) and then never answers: one
  // request waits out the probe's 2 s timeout before the VIP's check (every 200 ms, fall 1)
  // ejects it; 2 s + 0.2 s + slack on a loaded 2-core host.
  Duration stall_gap = std::chrono::seconds(3);
  Duration handover = std::chrono::seconds(3);
  Duration replacement = std::chrono::seconds(10);
};

struct ClusterObservations {
  FaultPlan plan;
  std::vector<cluster::ProbeSample> probe;  // every sample of the run
  TimePoint fault_at{};                     // just before the injection
  TimePoint heal_at{};                      // just before the heal
  std::optional<TimePoint> healthy_at;      // status healthy after the heal (nullopt: never)
  TimePoint end{};
  std::string holder_before;
  std::vector<HolderSample> holders;  // after fault_at
  std::vector<PodView> pods_before;
  std::vector<PodSample> pod_samples;              // after fault_at
  std::vector<pid_t> pod_pids_before;              // pod processes on the survivors, before
  std::vector<pid_t> pod_pids_during;              // the same, at the end of the fault
  std::optional<std::string> statefulset_history;  // "<uid> <ns>" lines, when checked
};

struct Check {
  std::string name;
  bool applicable = true;
  bool passed = true;
  std::string measured;  // human-readable figure
  std::string limit;     // what passes
};

struct ClusterFigures {
  size_t requests = 0;
  size_t failed = 0;
  size_t in_flight = 0;  // of `failed`: broken while in flight on a dying server (reported)
  Duration longest_gap{};
  size_t failed_after_heal = 0;
  std::string first_error;
  std::optional<Duration> handover;  // fault -> another holder
  std::string new_holder;
  size_t pods_lost = 0;                 // Ready ReplicaSet pods on the faulted nodes
  std::optional<Duration> replacement;  // fault -> all of them Ready elsewhere
  size_t survivor_pods = 0;             // Ready ReplicaSet pods on the survivors, before
  std::vector<std::string> survivor_pods_disturbed;
  size_t pod_processes_lost = 0;            // static stability: survivors' pod PIDs gone
  std::optional<Duration> healthy_after;    // heal -> status healthy
  std::optional<Duration> statefulset_gap;  // never-twice: old copy's last -> new copy's first
};

struct ClusterVerdict {
  ClusterFigures figures;
  std::vector<Check> checks;
  bool passed() const;
};

// The first time after the fault another node held the Lease.
std::optional<std::pair<Duration, std::string>> handoverTime(const ClusterObservations& obs);
// The Ready ReplicaSet pods of `before` on `faulted` nodes.
std::vector<PodView> lostPods(const std::vector<PodView>& before,
                              const std::vector<std::string>& faulted);
// Whether `now` holds, per owner, at least as many new (not in `before`) Ready pods on nodes not
// faulted as the owner lost.
bool replaced(const std::vector<PodView>& before, const std::vector<PodView>& now,
              const std::vector<std::string>& faulted);
// The Ready ReplicaSet pods of `before` on nodes not faulted that some sample after the fault
// shows gone or not Ready ("namespace/name", sorted).
std::vector<std::string> disturbedSurvivors(const ClusterObservations& obs);
std::optional<Duration> replacementTime(const ClusterObservations& obs);

// The never-twice checker over a StatefulSet pod's history: each copy appends "<uid> <wall ns>"
// while it runs; two copies (uids) whose [first, last] intervals overlap ran at once.
struct NeverTwice {
  size_t copies = 0;
  bool overlap = false;
  std::string detail;
  std::optional<Duration> gap;  // between consecutive copies (the smallest), when >= 2 copies
};
Result<NeverTwice> checkNeverTwice(const std::string& history);

ClusterVerdict judge(const ClusterObservations& obs, const ClusterLimits& limits);

std::string verdictTable(const ClusterObservations& obs, const ClusterVerdict& verdict);
std::string verdictJson(const ClusterObservations& obs, const ClusterVerdict& verdict);

}  // namespace rampart::chaos

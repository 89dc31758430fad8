#pragma once
// One `rampart chaos cluster` run against a `rampart up` cluster in `dir`:
//   1. read the cluster (cluster.json, tokens), the controllers' Lease holder and the pods
//      through the kubectl gateway on the host's loopback; plan the fault (cluster_fault.h);
//   2. start the API client (cluster::ApiProbe) in a node the fault does not touch, and an
//      observer thread reading the Lease holder and the pods every 100 ms through the gateway;
//      record the pod processes of the nodes the fault does not touch;
//   3. after `before`, inject (cluster_fault_io.h); keep the fault for `duration`, longer while
//      a handover or a pod replacement it should cause is still awaited (bounded by the limits);
//   4. heal, then run `rampart status --dir D --json` until healthy (bounded by heal_timeout),
//      keep the client on for `after`, stop, and judge.
// The heal runs on every path once the fault is in (errors and `cancel` included).
//
// Blocking, bounded: at most before + max(duration, limits) + heal_timeout (twice: `up`, then
// status) + after, plus a few seconds of set-up. Root only. It spawns `binary` for `up` and
// `status` rather than calling them in-process, because collecting a status moves the calling
// process into the hub's network namespace. One run per cluster at a time.

#include <atomic>
#include <functional>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "chaos/cluster_fault.h"

namespace rampart::chaos {

struct ClusterRunOptions {
  std::string dir;
  FaultKind kind;
  std::string target;  // "" : planFault's default
  std::string binary;  // the rampart executable
  Duration before = std::chrono::seconds(1);
  Duration duration = std::chrono::seconds(5);
  Duration after = std::chrono::seconds(2);
  Duration heal_timeout = std::chrono::seconds(60);
  ClusterLimits limits;
  // A StatefulSet pod's history file (checkNeverTwice), read after the run; "" : not checked.
  std::string statefulset_history;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string&)> progress;
};

struct ClusterRunReport {
  ClusterObservations observations;
  ClusterVerdict verdict;
  std::string heal_error;  // "" : healed
};

// Errors: the cluster cannot be read or planned for (InvalidArgument/FailedPrecondition/
// NotFound), or the fault cannot be injected. Once injected, a failing heal is reported in the
// report (and fails healthy-after), not as an error, so the figures are never lost.
Result<ClusterRunReport> runClusterFault(const ClusterRunOptions& options);

}  // namespace rampart::chaos

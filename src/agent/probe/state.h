#pragma once
// ContainerProbes: the probe state of one running container, as the kubelet's prober workers
// keep it, as a pure state machine (no I/O, no clock: every call is given `now`). The caller
// asks when each probe is due, runs it, and records its outcome; the machine answers whether the
// container is started, ready, or must be restarted.
//
// Kubernetes' rules, kept here:
//  - started: true once the startup probe passed (or at once when there is none); liveness and
//    readiness do not run before. The startup probe does not run again once passed.
//  - ready: with a readiness probe, false until it passes; without one, true once started.
//  - thresholds count consecutive equal outcomes (kubelet's lastResult/resultRun): a state
//    changes when `success_threshold` successes or `failure_threshold` failures follow each other.
//  - liveness failing failure_threshold times, or startup failing failure_threshold times:
//    restart_needed, with reason "Unhealthy" and the kubelet's message ("Liveness probe failed:
//    HTTP probe failed with statuscode: 500"). Then every probe holds (the kubelet's onHold)
//    and ready turns false (the container is being killed) until restarted().
//  - schedule: the first run of each probe is due at start + initialDelay + jitter, then every
//    period on that grid; a tick missed because the probe ran long is skipped, not bunched. When
//    the startup probe passes, liveness and readiness are due at once (if their initial delay
//    has passed) instead of waiting for their next tick: the kubelet learns it a tick late, we
//    need not (a pod is Ready sooner).
// Not thread-safe: one owner (the ProbeManager's event loop, or a test).

#include <array>
#include <optional>
#include <string>

#include "agent/probe/spec.h"
#include "base/clock.h"

namespace rampart::agent::probe {

// One probe run's outcome. `output` says why it failed ("HTTP probe failed with statuscode: 500",
// "dial tcp 10.0.0.5:80: connect: connection refused", "command timed out").
struct ProbeOutcome {
  bool success = false;
  std::string output;
};

// What the agent acts on and reports in containerStatuses.
struct ProbeStatus {
  bool started = false;
  bool ready = false;
  bool restart_needed = false;
  std::string reason;   // "Unhealthy" when a probe failed it, else ""
  std::string message;  // "Readiness probe failed: ...", "Liveness probe failed: ..." or ""
  // Transitions compare the flags only: a new failure message is not a new state.
  bool sameState(const ProbeStatus& o) const {
    return started == o.started && ready == o.ready && restart_needed == o.restart_needed;
  }
};

class ContainerProbes {
 public:
  // `jitter` delays the first run of every probe (the caller draws it; 0 in tests).
  ContainerProbes(ContainerProbeSpecs specs, TimePoint started_at, Duration jitter = Duration{0});

  const ProbeStatus& status() const { return status_; }
  const ContainerProbeSpecs& specs() const { return specs_; }

  // When the probe of `kind` should next run; std::nullopt when it will not run until something
  // else changes (not configured, gated by the startup probe, startup passed, or on hold after a
  // restart was asked for).
  std::optional<TimePoint> nextDue(ProbeKind kind) const;
  bool isDue(ProbeKind kind, TimePoint now) const;

  // The outcome of a run of `kind` that was started when it was due; `now` is when it finished.
  // Returns the new status when started, ready or restart_needed changed, else std::nullopt.
  // A result for a probe that is not due-able any more (held, gated) is ignored.
  std::optional<ProbeStatus> record(ProbeKind kind, const ProbeOutcome& outcome, TimePoint now);

  // The container was restarted (or replaced) at `started_at`: everything starts over.
  // Returns the new status (started false again when there is a startup probe, ...).
  ProbeStatus restarted(TimePoint started_at, Duration jitter = Duration{0});

 private:
  struct Worker {
    std::optional<TimePoint> next;  // the next tick on the grid; nullopt: no probe of this kind
    std::optional<bool> last;       // the last outcome (nullopt: none yet)
    int run = 0;                    // how many times `last` came in a row
  };
  Worker& worker(ProbeKind kind) { return workers_[static_cast<size_t>(kind)]; }
  const Worker& worker(ProbeKind kind) const { return workers_[static_cast<size_t>(kind)]; }
  void reset(TimePoint started_at, Duration jitter);
  bool gated(ProbeKind kind) const;

  ContainerProbeSpecs specs_;
  std::array<Worker, 3> workers_;
  bool started_ = false;
  bool readiness_passed_ = false;  // the readiness probe's current result
  bool on_hold_ = false;           // restart asked for: no probe runs until restarted()
  ProbeStatus status_;
};

}  // namespace rampart::agent::probe

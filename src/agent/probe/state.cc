#include "agent/probe/state.h"

#include <algorithm>

namespace rampart::agent::probe {

namespace {
constexpr ProbeKind kKinds[] = {ProbeKind::Liveness, ProbeKind::Readiness, ProbeKind::Startup};
}  // namespace

ContainerProbes::ContainerProbes(ContainerProbeSpecs specs, TimePoint started_at, Duration jitter)
    : specs_(std::move(specs)) {
  reset(started_at, jitter);
}

void ContainerProbes::reset(TimePoint started_at, Duration jitter) {
  started_ = !specs_.startup;
  readiness_passed_ = false;
  on_hold_ = false;
  for (ProbeKind kind : kKinds) {
    Worker& w = worker(kind);
    w = Worker{};
    if (const auto& spec = specs_.get(kind)) {
      w.next = started_at + spec->initial_delay + jitter;
    }
  }
  status_ = ProbeStatus{};
  status_.started = started_;
  status_.ready = started_ && !specs_.readiness;
}

bool ContainerProbes::gated(ProbeKind kind) const {
  if (on_hold_) {
    return true;
  }
  // The startup probe runs until it passes; the others only after it passed.
  return kind == ProbeKind::Startup ? started_ : !started_;
}

std::optional<TimePoint> ContainerProbes::nextDue(ProbeKind kind) const {
  if (!specs_.get(kind) || gated(kind)) {
    return std::nullopt;
  }
  return worker(kind).next;
}

bool ContainerProbes::isDue(ProbeKind kind, TimePoint now) const {
  auto due = nextDue(kind);
  return due && *due <= now;
}

std::optional<ProbeStatus> ContainerProbes::record(ProbeKind kind, const ProbeOutcome& outcome,
                                                   TimePoint now) {
  const auto& spec = specs_.get(kind);
  if (!spec || gated(kind)) {
    return std::nullopt;
  }
  Worker& w = worker(kind);
  // Next tick on the grid next + k * period, strictly after `now`: ticks missed while the probe
  // ran (timeout > period) are skipped, as a Go ticker drops them, instead of bunching up.
  // period > 0 (parseProbe defaults 0 to 10 s, the annotations must be positive).
  Duration period = std::max(spec->period, Duration{1});
  *w.next += period;
  if (*w.next <= now) {
    auto missed = (now - *w.next) / period + 1;
    *w.next += missed * period;
  }
  // Consecutive equal outcomes (kubelet's lastResult / resultRun).
  if (w.last == outcome.success) {
    ++w.run;
  } else {
    w.last = outcome.success;
    w.run = 1;
  }

  ProbeStatus before = status_;
  bool crossed =
      outcome.success ? w.run >= spec->success_threshold : w.run >= spec->failure_threshold;
  if (crossed) {
    std::string failed = std::string(kindTitle(kind)) + " probe failed: " + outcome.output;
    switch (kind) {
      case ProbeKind::Startup:
        if (outcome.success) {
          started_ = true;
          // Liveness and readiness waited on this: due now unless their initial delay is still
          // running.
          for (ProbeKind other : {ProbeKind::Liveness, ProbeKind::Readiness}) {
            if (auto& next = worker(other).next) {
              next = std::max(*next, now);
            }
          }
        } else {
          on_hold_ = true;
          status_.reason = "Unhealthy";
          status_.message = failed;
        }
        break;
      case ProbeKind::Liveness:
        if (!outcome.success) {
          on_hold_ = true;
          status_.reason = "Unhealthy";
          status_.message = failed;
        }
        break;
      case ProbeKind::Readiness:
        if (outcome.success != readiness_passed_) {
          readiness_passed_ = outcome.success;
          status_.reason = outcome.success ? "" : "Unhealthy";
          status_.message = outcome.success ? "" : failed;
        }
        break;
    }
  }
  status_.started = started_;
  status_.restart_needed = on_hold_;
  // A container being killed for a failed probe serves nothing: not ready at once.
  status_.ready = started_ && !on_hold_ && (!specs_.readiness || readiness_passed_);
  if (status_.sameState(before)) {
    return std::nullopt;
  }
  return status_;
}

ProbeStatus ContainerProbes::restarted(TimePoint started_at, Duration jitter) {
  reset(started_at, jitter);
  return status_;
}

}  // namespace rampart::agent::probe

#include "controller/leader.h"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

namespace rampart::controller {
using json = nlohmann::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

LeaseView leaseViewOf(const json& lease) {
  LeaseView view;
  if (!lease.is_object()) {
    return view;
  }
  view.exists = true;
  view.holder = lease.value("/spec/holderIdentity"_json_pointer, std::string());
  view.resource_version = lease.value("/metadata/resourceVersion"_json_pointer, std::string());
  view.transitions = lease.value("/spec/leaseTransitions"_json_pointer, int64_t{0});
  int64_t seconds = lease.value("/spec/leaseDurationSeconds"_json_pointer, int64_t{0});
  view.duration = std::chrono::seconds(seconds);
  json::json_pointer annotation("/metadata/annotations");
  if (lease.contains(annotation) && lease[annotation].is_object() &&
      lease[annotation].contains(kLeaseDurationAnnotation) &&
      lease[annotation][kLeaseDurationAnnotation].is_string()) {
    const std::string& text =
        lease[annotation][kLeaseDurationAnnotation].get_ref<const std::string&>();
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc() && end == text.data() + text.size() && ms > 0) {
      view.duration = milliseconds(ms);
    }
  }
  return view;
}

void observe(LeaderState& state, const LeaseView& view, TimePoint now) {
  // `now` is when the answer ARRIVED: the write that made this version was applied before the
  // read was served, so the version is at least (now - observed_since) old. Counting from when
  // the read was sent could start the clock before the write was applied.
  std::string version = view.exists ? view.resource_version : std::string();
  if (version != state.observed_version || state.observed_since == TimePoint{}) {
    state.observed_version = version;
    state.observed_since = now;
  }
}

LeaderDecision decideLeader(const LeaderState& state, const LeaseView& view,
                            const LeaderConfig& config, TimePoint now) {
  LeaderDecision d;
  d.next_check = config.retry_period;
  if (!view.exists) {
    d.kind = LeaderActionKind::Create;
    d.reason = "no lease: creating it";
    return d;
  }
  if (view.holder == config.identity) {
    // Ours: either we lead, or our own earlier write was applied though its answer was lost.
    // Renewing with the CAS token proves nobody changed it since.
    d.kind = LeaderActionKind::Renew;
    d.reason = state.leading ? "renewing our lease" : "the lease names us: renewing to lead";
    return d;
  }
  if (state.leading) {
    d.kind = LeaderActionKind::StepDown;
    d.reason = view.holder.empty() ? "the lease was released" : "the lease is held by " + view.holder;
    return d;
  }
  if (view.holder.empty()) {
    d.kind = LeaderActionKind::Acquire;
    d.reason = "the lease was released";
    return d;
  }
  Duration duration = view.duration > Duration::zero() ? view.duration : config.lease_duration;
  Duration unchanged = now - state.observed_since;
  if (state.observed_version == view.resource_version && unchanged >= duration) {
    d.kind = LeaderActionKind::Acquire;
    d.reason = "the lease of " + view.holder + " was not renewed for " +
               std::to_string(duration_cast<milliseconds>(unchanged).count()) + "ms";
    return d;
  }
  d.kind = LeaderActionKind::Wait;
  // Wake exactly when it would expire, if that comes before the next regular read. Candidates
  // read twice per retry period: the version they watch is first seen at most retry/2 after it
  // was written, which is what the takeover time adds on top of D.
  d.next_check =
      std::clamp<Duration>(duration - unchanged, milliseconds(1), config.retry_period / 2);
  d.reason = "the lease is held by " + view.holder;
  return d;
}

void renewed(LeaderState& state, TimePoint sent_at, const LeaderConfig& config) {
  state.leading = true;
  // s + D - M: see the header. `sent_at` is when the write that succeeded was SENT.
  state.fence_deadline = std::max(state.fence_deadline, sent_at + config.renew_deadline);
}

void stepDown(LeaderState& state) {
  state.leading = false;
  state.fence_deadline = TimePoint{};
  // Start counting afresh like any candidate: our own last version must age a full D too.
  state.observed_since = TimePoint{};
  state.observed_version.clear();
}

bool mayAct(const LeaderState& state, TimePoint now) {
  return state.leading && now < state.fence_deadline;
}

json leaseToWrite(const json& current, const std::string& ns, const std::string& name,
                  const LeaderConfig& config, const std::string& renew_time, bool release) {
  json lease = current.is_object() ? current
                                   : json{{"apiVersion", "coordination.k8s.io/v1"},
                                          {"kind", "Lease"},
                                          {"metadata", {{"name", name}, {"namespace", ns}}},
                                          {"spec", json::object()}};
  lease["apiVersion"] = "coordination.k8s.io/v1";
  lease["kind"] = "Lease";
  json& spec = lease["spec"];
  if (!spec.is_object()) {
    spec = json::object();
  }
  std::string previous = spec.value("holderIdentity", std::string());
  int64_t ms = duration_cast<milliseconds>(config.lease_duration).count();
  if (release) {
    spec["holderIdentity"] = "";
    spec["leaseDurationSeconds"] = 1;
    spec["renewTime"] = renew_time;
    lease["metadata"]["annotations"][kLeaseDurationAnnotation] = "1";
    return lease;
  }
  spec["holderIdentity"] = config.identity;
  spec["leaseDurationSeconds"] = std::max<int64_t>(1, (ms + 999) / 1000);
  spec["renewTime"] = renew_time;
  if (previous != config.identity) {
    spec["acquireTime"] = renew_time;
    if (current.is_object()) {
      spec["leaseTransitions"] = spec.value("leaseTransitions", int64_t{0}) + 1;
    } else {
      spec["leaseTransitions"] = 0;
    }
  }
  lease["metadata"]["annotations"][kLeaseDurationAnnotation] = std::to_string(ms);
  return lease;
}

}  // namespace rampart::controller

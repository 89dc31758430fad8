#pragma once
// Leader election for `rampart controller` on a coordination.k8s.io/v1 Lease (by default
// kube-system/rampart-controller, as kube-controller-manager uses kube-system/kube-controller-
// manager): the pure decision, from the Lease as last read and what this candidate remembers,
// to one action. The I/O around it (read the Lease, write it with resourceVersion CAS) is in
// elector.h. Several candidates run; at most one acts.
//
// The Lease records holderIdentity, renewTime (MicroTime), leaseDurationSeconds and
// leaseTransitions as Kubernetes has them; leaseDurationSeconds is whole seconds, so the real
// duration D is in the annotation `rampart.io/lease-duration-ms` (a reader without it uses the
// seconds). Nobody trusts another machine's clock: renewTime is informative only.
//
// Safety (never two acting leaders), with D the holder's duration and M the safety margin:
//   - The holder H counts from s, the monotonic time at which it SENT its last renewal that
//     succeeded. That write was applied at a >= s. H acts only while now < s + D - M (its
//     fencing deadline) and writes nothing after it.
//   - A candidate C takes the Lease over only after it has seen the same resourceVersion for a
//     full D on its own monotonic clock: it first saw it at o >= a (it cannot see a write before
//     it is applied), so it acquires at t >= o + D >= a + D >= s + D > s + D - M.
//   - Hence C's takeover comes at least M after H's deadline; M absorbs clock-rate drift between
//     the two machines (M >= D x drift) and the flight time of a write H sent just before its
//     deadline. Every write carries the resourceVersion it was decided on (CAS): if H renews in
//     between, C's write fails with 409 and C starts counting again; two candidates can never
//     both acquire one resourceVersion.
// Liveness: a holder renews every `retry_period` (R); a candidate re-reads every R/2 and also
// exactly when the observed version would expire. With D = 800 ms and R = 100 ms, a holder
// killed at k renewed last at a in [k - R, k], the candidate saw it by a + R/2 and acquires at
// that + D: k + 0.70..0.85 s (plus two requests' latency), ≤ 1 s; the old one had stopped
// writing at s + D - M = s + 600 ms. A holder that shuts down cleanly releases the Lease
// (empty holderIdentity) after it stopped writing; candidates then acquire at once.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.h"

namespace rampart::controller {

inline constexpr const char* kLeaseDurationAnnotation = "rampart.io/lease-duration-ms";

struct LeaderConfig {
  std::string identity;  // unique per process (hostname_uuid, as kube-controller-manager)
  Duration lease_duration = std::chrono::milliseconds(800);  // D
  Duration renew_deadline = std::chrono::milliseconds(600);  // D - M: the fencing deadline
  Duration retry_period = std::chrono::milliseconds(100);
};

// The Lease as last read.
struct LeaseView {
  bool exists = false;
  std::string holder;            // "" = released
  std::string resource_version;  // the CAS token and the "has it changed?" test
  Duration duration{};           // the holder's D (annotation, else leaseDurationSeconds)
  int64_t transitions = 0;
};

// What this candidate remembers between decisions (owned by the elector; updated by the
// functions below, all pure).
struct LeaderState {
  std::string observed_version;  // the Lease's resourceVersion when last read
  TimePoint observed_since{};    // when (our monotonic clock) we first saw observed_version
  bool leading = false;
  TimePoint fence_deadline{};    // leading: act only while now < fence_deadline
};

enum class LeaderActionKind {
  Create,    // no Lease: create it holding it (AlreadyExists = someone was faster)
  Acquire,   // update the Lease to hold it, with the observed resourceVersion
  Renew,     // update our own Lease, with the observed resourceVersion
  Wait,      // someone else holds a live Lease
  StepDown,  // we believed we led but the Lease says otherwise: stop at once
};

struct LeaderDecision {
  LeaderActionKind kind = LeaderActionKind::Wait;
  Duration next_check{};  // when to read the Lease again
  std::string reason;
};

// Parses a Lease object (null or non-object: exists=false).
LeaseView leaseViewOf(const nlohmann::json& lease);

// Records a read of the Lease at `now` (resets observed_since when the version changed).
void observe(LeaderState& state, const LeaseView& view, TimePoint now);

LeaderDecision decideLeader(const LeaderState& state, const LeaseView& view,
                            const LeaderConfig& config, TimePoint now);

// A Create/Acquire/Renew sent at `sent_at` succeeded: we lead until sent_at + renew_deadline.
void renewed(LeaderState& state, TimePoint sent_at, const LeaderConfig& config);
// Stop leading (a lost CAS, a released Lease, a deadline passed).
void stepDown(LeaderState& state);
// Whether we may act (write) at `now`. Past the fencing deadline this is false even before the
// elector noticed.
bool mayAct(const LeaderState& state, TimePoint now);

// The Lease object this candidate writes when it creates, acquires or renews (`current` is the
// Lease read, or null): holderIdentity, renewTime (`renew_time`, a MicroTime string),
// leaseDurationSeconds (D rounded up), acquireTime and leaseTransitions (+1 on a change of
// holder), the duration annotation, and the resourceVersion of `current` for the CAS.
nlohmann::json leaseToWrite(const nlohmann::json& current, const std::string& ns,
                            const std::string& name, const LeaderConfig& config,
                            const std::string& renew_time, bool release = false);

}  // namespace rampart::controller

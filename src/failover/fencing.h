#pragma once
// The leader's fencing deadline: the pure bookkeeping of until when this member may act as the
// single writable leader, as store::LeaseClock is for an etcd lease (that one counts whole-second
// TTLs granted by etcd; this one counts leader_timeout, which the followers apply on their own
// clocks to the leader key's rewrites).
//
// The invariant "never two writable primaries" (ARCHITECTURE.md): followers note, on their own
// monotonic clock, when they last saw the leader key change, and may take it over once it has not
// changed for leader_timeout. A rewrite is applied after it was sent and seen after it was
// applied, so the leader that fences at
//     send time of its last acknowledged rewrite + leader_timeout - fence_margin
// stops before any follower may start. The failsafe (every other member promised, in a round
// that started at `started`, to stay out of any race for leader_timeout from its answer) moves
// the deadline the same way from the round's start. The deadline never moves back.
//
// Not thread-safe: one event loop. No clock inside: every call takes the time.

#include "base/clock.h"

namespace rampart::failover {

struct FencingTimes {
  Duration leader_timeout{};      // followers take over after this long without a rewrite
  Duration fence_margin{};        // the leader stops this long before that
  Duration heartbeat_interval{};  // the leader rewrites its key this often
};

class FencingDeadline {
 public:
  explicit FencingDeadline(FencingTimes times) : times_(times) {}

  // A term starts: the key was taken (or handed over) by a write sent at `sent_at`; `now` is
  // when this member starts leading.
  void startTerm(TimePoint sent_at, TimePoint now) {
    acked_sent_ = sent_at;
    term_started_ = now;
    deadline_ = sent_at + lease();
  }
  // A rewrite of the key sent at `sent_at` was acknowledged.
  void onHeartbeatAcked(TimePoint sent_at) {
    acked_sent_ = sent_at;
    deadline_ = std::max(deadline_, sent_at + lease());
  }
  // Every other member vouched in a failsafe round that started at `started`.
  void onVouched(TimePoint started) { deadline_ = std::max(deadline_, started + lease()); }

  bool expired(TimePoint now) const { return now >= deadline_; }
  TimePoint deadline() const { return deadline_; }
  Duration remaining(TimePoint now) const {
    return now >= deadline_ ? Duration::zero() : deadline_ - now;
  }

  // Whether a failsafe round is due: etcd has acknowledged no rewrite for two heartbeat
  // intervals, counted from the term's start at the earliest (a handover's deadline counts from
  // an older write). Waiting for the rewrite's own store timeout would leave the round too little
  // of the deadline on a loaded machine.
  bool failsafeDue(TimePoint now) const {
    return now - std::max(acked_sent_, term_started_) > times_.heartbeat_interval * 2;
  }
  // The latest a failsafe round started at `started` may finish: within the deadline, and short
  // (half the lease), since each member's promise lasts leader_timeout from its answer and the
  // next round must reach it well before that.
  TimePoint failsafeRoundDeadline(TimePoint started) const {
    return std::min(deadline_, started + lease() / 2);
  }

 private:
  Duration lease() const { return times_.leader_timeout - times_.fence_margin; }

  FencingTimes times_;
  TimePoint deadline_{};      // writable until here
  TimePoint acked_sent_{};    // send time of the last acknowledged rewrite
  TimePoint term_started_{};  // when this term began
};

}  // namespace rampart::failover

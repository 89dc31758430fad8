#pragma once
// The failsafe's vouch: when etcd stops acknowledging the leader's heartbeats, the leader keeps
// serving only while every other member it knows promises to stay out of any race (engine.h;
// fencing.h moves the deadline). This is the rule by which a member answers such a request.
// Pure, thread-safe.

#include <string>

#include "base/clock.h"

namespace rampart::failover {

// What a member knows when the leader asks it to vouch (POST /failsafe).
struct VouchFacts {
  std::string me;
  std::string claimed_leader;  // the member the request vouches for
  bool proof_valid = false;    // signed with the member credential for (claimed_leader, me)
  // With REST client-certificate verification: the verified certificate's common name must be
  // the claimed leader's. Without it the member credential alone identifies.
  bool identity_required = false;
  std::string peer_name;  // the verified client certificate's common name ("" none)
  bool leading = false;
  bool leader_present = false;
  std::string leader_name;
  TimePoint now{};
  TimePoint etcd_reached_at{};  // send time of this member's last request etcd answered
  Duration etcd_silence_limit{};
};

enum class VouchVerdict {
  Accept,           // promise to sit out any race for leader_timeout
  Unauthenticated,  // not the member credential, or not the leader's certificate
  NotTheLeader,     // the claimed member does not hold the key (as far as we know), or we do
  EtcdReachable,    // we reach etcd ourselves: if the leader cannot, it must fence
};

struct VouchDecision {
  VouchVerdict verdict = VouchVerdict::NotTheLeader;
  std::string reason;
};

// A member promises only
//  (a) to the current leader's authenticated identity: the member credential's proof, and with
//      client-certificate verification the certificate's name too; and
//  (b) while it cannot reach etcd itself: its own last answered etcd request was sent more than
//      etcd_silence_limit ago (2 x heartbeat_interval; each member asks etcd every
//      heartbeat_interval, so a healthy etcd keeps the silence below the limit).
// (b) is what keeps a vouch from blocking failover: a member that reaches etcd and sees the
// leader's heartbeat gone refuses, so a leader cut off from etcd alone fences and is replaced,
// however often anyone repeats a vouch. A member that cannot reach etcd could not take the key
// anyway; a promise outlives its etcd outage by at most leader_timeout.
VouchDecision decideVouch(const VouchFacts& facts);

}  // namespace rampart::failover

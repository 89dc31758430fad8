#pragma once
// The Redis durability rule: which members a replica must have heard from before it may take the
// leader key in a race, so that a write a client confirmed with `WAIT k` (k replicas have it) is
// never lost by a failover. It is the Redis counterpart of PostgreSQL's synchronous set
// (pg/decide.h) and plugs into failover::Engine as its candidate_rule (engine.h).
//
// The arithmetic. A group of n members has one master and r = n - 1 replicas. A write the
// client confirmed with WAIT k is held by at least k of those r replicas. A candidate that has
// the final positions (published for this race, after each detached from the old master, so no
// position grows afterwards) of h of the r replicas, itself included, has heard from at least
// one holder of every such write when
//     h + k > r,   i.e.   h >= r - k + 1 = n - k,
// since h heard and k holders among r replicas must then share one (pigeonhole). Being the most
// advanced of those it heard (ties: the smaller name), the candidate has everything that holder
// has (positions order one replication history, failover/database.h), so it has the write.
// With n = 3 and WAIT 1 the winner must hear from both replicas: 2 >= 3 - 1. The old master is
// never counted among the h (it is not a replica of itself, and its position after a crash and
// restart from its AOF is not comparable with the replicas'), which is why the engine passes
// the previous leader's name even after its key went.
//
// What it does not cover: a replica that holds the write and loses it too (its server crashed
// and its AOF lacks the last fsync second, or its data directory was wiped) is a second
// failure, beyond what WAIT k with k = 1 promises. And it costs availability, as any such rule
// does: with n = 3 and k = 1 no failover happens while one of the two replicas is down as well.
//
// Pure: no I/O, no clock. Thread-safe.

#include "failover/engine.h"

namespace rampart::redis {

struct DurabilityRule {
  int members = 3;        // n: the members of the group (ha.members)
  int wait_replicas = 1;  // k: the replicas a client's WAIT counts as acknowledged
};

// h: how many of the old master's replicas (the candidate included) a candidate must have heard
// from: n - k, at least 1; 1 when k = 0 (nothing is promised, the candidate alone will do).
int replicasToHear(const DurabilityRule& rule);

// Whether the candidate f.me takes the key: the engine's own rule (every running replica heard,
// none ahead), every member heard for this race not ahead of it either, and at least
// replicasToHear() replicas of the old master heard.
failover::CandidateDecision decideRedisCandidate(const failover::CandidateFacts& f,
                                                 const DurabilityRule& rule);

}  // namespace rampart::redis

#include "redis/durability.h"

#include <algorithm>

namespace rampart::redis {

int replicasToHear(const DurabilityRule& rule) {
  if (rule.wait_replicas <= 0) {
    // No WAIT promised, no write to keep: n - 0 = n would ask for more replicas than a group
    // without its master has (n - 1), and no failover could ever happen.
    return 1;
  }
  return std::max(1, rule.members - rule.wait_replicas);
}

failover::CandidateDecision decideRedisCandidate(const failover::CandidateFacts& f,
                                                 const DurabilityRule& rule) {
  auto base = failover::decideCandidate(f);
  if (!base.take) {
    return base;
  }
  const auto& mine = f.members.at(f.me);  // decideCandidate found it
  int heard = 0;
  for (const auto& [name, m] : f.members) {
    if (m.race_rev != f.race_rev) {
      continue;
    }
    // A member heard for this race whose server has stopped since may still hold the write (in
    // its AOF, restarting): it is not overtaken either.
    if (name != f.me && (m.race_position > mine.race_position ||
                         (m.race_position == mine.race_position && name < f.me))) {
      return {false, name + " is ahead"};
    }
    if (name != f.old_leader && name != f.previous_leader) {
      ++heard;
    }
  }
  int needed = replicasToHear(rule);
  if (heard < needed) {
    return {false, "heard " + std::to_string(heard) + " of the " + std::to_string(needed) +
                       " replicas a WAIT " + std::to_string(rule.wait_replicas) +
                       " write needs in " + std::to_string(rule.members) + " members"};
  }
  return {true, "the most advanced of " + std::to_string(heard) + " replicas heard (" +
                    std::to_string(needed) + " needed)"};
}

}  // namespace rampart::redis

#include "pg/decide.h"

#include <algorithm>
#include <set>

namespace rampart::pg {

RaceDecision decideRace(const RaceFacts& facts) {
  auto self_it = facts.members.find(facts.me);
  if (self_it == facts.members.end()) {
    return {RaceVerdict::Ineligible, "no published status"};
  }
  const MemberStatus& self = self_it->second;
  if (self.nofailover) {
    return {RaceVerdict::Ineligible, "tagged nofailover"};
  }
  if (facts.sync.leader == facts.me) {
    // The last leader has every commit it acknowledged, and no one led after it (a takeover
    // rewrites the sync key in the same transaction, a handover clears its leader).
    return {RaceVerdict::Take, "the last leader"};
  }
  if (self.race_rev != facts.leader_rev) {
    return {RaceVerdict::Wait, "final position not published yet"};
  }
  auto fresh = [&](const MemberStatus& m) { return m.race_rev == facts.leader_rev; };

  std::vector<const MemberStatus*> heard;
  size_t needed = 1;
  if (facts.synchronous_mode) {
    const auto& set = facts.sync.members;
    if (std::find(set.begin(), set.end(), facts.me) == set.end()) {
      return {RaceVerdict::Ineligible, "not in the synchronous set"};
    }
    if (facts.sync.quorum <= 0) {
      return {RaceVerdict::Ineligible, "the synchronous set has no quorum"};
    }
    needed = set.size() - static_cast<size_t>(facts.sync.quorum) + 1;
    for (const auto& name : set) {
      auto it = facts.members.find(name);
      if (it != facts.members.end() && fresh(it->second)) {
        heard.push_back(&it->second);
      }
    }
  } else {
    if (facts.last_leader_lsn > self.race_lsn &&
        static_cast<int64_t>(facts.last_leader_lsn - self.race_lsn) >
            facts.maximum_lag_on_failover) {
      return {RaceVerdict::Ineligible, "lag " +
                                           std::to_string(facts.last_leader_lsn - self.race_lsn) +
                                           " bytes exceeds maximum_lag_on_failover"};
    }
    for (const auto& [name, m] : facts.members) {
      if (fresh(m) && m.role == "replica") {
        heard.push_back(&m);
      }
    }
  }
  if (heard.size() < needed) {
    std::string from;
    for (const auto* m : heard) {
      from += (from.empty() ? "" : ", ") + m->name;
    }
    return {RaceVerdict::Wait, "heard " + std::to_string(heard.size()) + " of the " +
                                   std::to_string(needed) + " final positions needed (" + from +
                                   ")"};
  }
  Lsn furthest = 0;
  for (const auto* m : heard) {
    furthest = std::max(furthest, m->race_lsn);
  }
  if (self.race_lsn < furthest) {
    return {RaceVerdict::Wait, "a member is further ahead (" + formatLsn(furthest) + " > " +
                                   formatLsn(self.race_lsn) + ")"};
  }
  // Among the furthest eligible members: the highest priority, then the smallest name.
  for (const auto* m : heard) {
    if (m->name == self.name || m->nofailover || m->race_lsn < furthest) {
      continue;
    }
    if (m->priority > self.priority || (m->priority == self.priority && m->name < self.name)) {
      return {RaceVerdict::Wait, m->name + " is as far ahead and preferred"};
    }
  }
  return {RaceVerdict::Take, "furthest of " + std::to_string(heard.size()) +
                                 " final positions heard (" + formatLsn(self.race_lsn) + ")"};
}

SyncState desiredSync(const std::string& leader, std::vector<std::string> streaming,
                      std::vector<std::string> other_members, int node_count, bool strict) {
  SyncState out;
  out.leader = leader;
  if (strict) {
    std::sort(other_members.begin(), other_members.end());
    out.members = std::move(other_members);
    out.quorum = out.members.empty() ? 0 : node_count;
    return out;
  }
  // A member can show two WAL senders for a moment (a reconnect, or pg_basebackup's beside its
  // own): it counts once, or the quorum could ask for more standbys than there are.
  std::sort(streaming.begin(), streaming.end());
  streaming.erase(std::unique(streaming.begin(), streaming.end()), streaming.end());
  out.members = std::move(streaming);
  out.quorum = std::min<int>(node_count, static_cast<int>(out.members.size()));
  return out;
}

SyncState syncTransition(const SyncState& from, const SyncState& to) {
  std::set<std::string> all(from.members.begin(), from.members.end());
  all.insert(to.members.begin(), to.members.end());
  SyncState out;
  out.leader = to.leader;
  out.members.assign(all.begin(), all.end());
  // An empty list means quorum 0: commits acknowledged under it are on no standby, so the
  // union may not promise anything for them either.
  int from_quorum = from.members.empty() ? 0 : from.quorum;
  int to_quorum = to.members.empty() ? 0 : to.quorum;
  out.quorum = std::min(from_quorum, to_quorum);
  return out;
}

SyncState handoverSync(const SyncState& current, const std::string& target) {
  std::set<std::string> all(current.members.begin(), current.members.end());
  bool promised = !all.empty() && current.quorum > 0;
  all.insert(target);
  SyncState out;
  out.members.assign(all.begin(), all.end());
  out.quorum = promised ? 1 : 0;
  return out;
}

bool mayReuseObservation(const ObservationFacts& f) {
  if (f.leading || !f.switchover || f.switchover->force || !f.server_alive || !f.last_reachable ||
      !f.last_in_recovery || f.last_age >= kObservationReuseLimit) {
    return false;
  }
  const auto& request = *f.switchover;
  bool names_me = request.to.empty() || request.to == f.me;
  if (request.handover_lsn > 0) {
    return request.to == f.me && f.leader_present && f.leader_name == f.me;
  }
  return names_me && f.leader_present && !f.leader_stale && f.leader_name != f.me &&
         (request.from.empty() || request.from == f.leader_name);
}

}  // namespace rampart::pg

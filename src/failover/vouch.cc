#include "failover/vouch.h"

#include <fmt/format.h>

namespace rampart::failover {

VouchDecision decideVouch(const VouchFacts& f) {
  if (!f.proof_valid) {
    return {VouchVerdict::Unauthenticated, "not signed with the member credential"};
  }
  if (f.identity_required && f.peer_name != f.claimed_leader) {
    return {VouchVerdict::Unauthenticated,
            "the client certificate names '" + f.peer_name + "', not '" + f.claimed_leader + "'"};
  }
  if (f.leading) {
    return {VouchVerdict::NotTheLeader, "this member holds the leader key"};
  }
  if (!f.leader_present || f.leader_name != f.claimed_leader) {
    return {VouchVerdict::NotTheLeader,
            "'" + f.claimed_leader + "' is not the leader (" +
                (f.leader_present ? "'" + f.leader_name + "' is" : "no leader") + ")"};
  }
  auto silence = f.now - f.etcd_reached_at;
  if (silence <= f.etcd_silence_limit) {
    return {VouchVerdict::EtcdReachable,
            fmt::format("this member reaches etcd (last answer to a request sent {:.0f} ms ago)",
                        toMillis(silence))};
  }
  return {VouchVerdict::Accept, fmt::format("etcd silent here for {:.0f} ms", toMillis(silence))};
}

}  // namespace rampart::failover

#pragma once
// The leader's half of a planned switchover (engine.h carries it out), as pure functions: whom
// to hand over to, and the store transaction that hands the key over.
//
// The protocol, on the leader (Engine::switchover):
//   1. choose the target (chooseTarget): the requested member, or the most advanced replica;
//   2. holdWrites(): the server stops acknowledging writes (clients wait) and names its last
//      write's position P;
//   3. awaitReplica(target, P): the target has received everything acknowledged;
//   4. sealWrites(): the refusal now outlives the hold; the position must still be P;
//   5. handoverTxn: if the key still names this leader and the request is unchanged, the key
//      names the target and the request says handed_over with P. The heartbeat is skipped
//      while this runs, and the key is compared by value only: only this member writes its own
//      name (leader_key.h), so the value says it still holds the key whatever its revision;
//   6. the old leader stays held and sealed; a later tick follows the target (Follow) once its
//      status says primary, which ends the hold: the held writes are refused by a replica, none
//      is acknowledged and lost.
// The target adopts the key it was handed (a follower that finds its own name in the key) and
// promotes its server at once, then deletes the request.
//
// Never two writable primaries: from step 2 the old leader acknowledges nothing (held, then
// sealed: the seal outlives a hold that expires), and the target is writable only after the
// key names it, and only before its own fencing deadline (Engine::promoteOrGiveUp). Nothing
// acknowledged is lost: every acknowledged write is at or below P, and the key moves only once
// the target has P. Abandoned (no target, the target does not catch up within the time left
// before the fencing deadline, the position moved, or the hold fails): resumeWrites() and the
// request is deleted, the leader stays; a store error at step 5 fences instead, since the key
// may have moved (the next tick adopts it again if it did not).
//
// Thread safety: free functions over values.

#include <map>
#include <string>

#include "failover/engine.h"
#include "failover/requests.h"
#include "store/types.h"

namespace rampart::failover {

struct TargetChoice {
  std::string target;  // "" when there is none: abandon the switchover
  std::string reason;
};

// The member `me` hands over to: the request's `to` if it is another live member whose status
// says running replica; with no `to`, the replica with the greatest position (ties: the smaller
// name). Stopped members, primaries and `me` never qualify.
TargetChoice chooseTarget(const std::string& me, const SwitchoverRecord& request,
                          const std::map<std::string, MemberRecord>& members);

// Step 5: the key and the request change together, or neither does.
store::TxnRequest handoverTxn(const std::string& leader_key, const std::string& switchover_key,
                              const std::string& me, int64_t switchover_rev,
                              const SwitchoverRecord& handed);

}  // namespace rampart::failover

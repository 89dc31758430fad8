#pragma once
// The leader key's protocol as store transactions, and what their answers mean: the one
// definition that both failover::Engine and pg::Manager send. Pure: builds requests and reads
// responses; the caller sends them (and notes each write's send time for the fencing deadline,
// fencing.h).
//
//   take       compare-and-swap on the revision this member saw (0: create only if absent)
//   adopt      rewrite a key that already names this member, at the revision seen
//   heartbeat  rewrite it while it names us at our last revision; on failure read it back
//   release    delete it if it still names us
// Every write names the member in the key's value; only that member writes its own name, which
// is what makes a failed heartbeat that still finds our name safe to continue (interpretHeartbeat).
//
// Thread safety: free functions over values.

#include <string>

#include "store/types.h"

namespace rampart::failover {

store::TxnRequest takeKeyTxn(const std::string& key, const std::string& me, int64_t seen_rev);
store::TxnRequest adoptKeyTxn(const std::string& key, const std::string& me, int64_t seen_rev);
store::TxnRequest heartbeatTxn(const std::string& key, const std::string& me, int64_t my_rev);
store::TxnRequest releaseKeyTxn(const std::string& key, const std::string& me);

struct HeartbeatOutcome {
  enum class Kind {
    Renewed,    // applied: `revision` is the key's new revision, the deadline moves
    StillOurs,  // not applied, but the key still names us: an earlier attempt of ours was applied
                // although its answer was lost (the client retried); continue at `revision`,
                // keeping the old deadline (that write's send time is unknown)
    TakenOver,  // another member holds it, or it is gone: fence
  };
  Kind kind = Kind::TakenOver;
  int64_t revision = 0;
  std::string holder;  // TakenOver: the key's value ("" gone)
};

HeartbeatOutcome interpretHeartbeat(const store::TxnResponse& response, const std::string& me);

}  // namespace rampart::failover

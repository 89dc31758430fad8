#pragma once
// The operator calls of a Redis member's REST API (`rampart redis switchover|failover|pause|
// resume` send them):
//   POST /switchover {"to": "m2"}   ("to" optional: the leader picks the most advanced replica)
//   POST /failover   {"to": "m2"}   (a handover with a live leader, a forced promotion without)
//   POST /pause, POST /resume       (no automatic failover while paused)
// Each is checked (POST, `Authorization: Bearer <operator token>`; no token configured: every
// call is refused), decided by failover::operatorRequest from the answering member's view of
// the group, written to etcd under the group's prefix (failover/requests.h) and answered only
// after etcd acknowledged the write: 200 {"ok": true, "request": ...}; 400 a malformed call;
// 409 a precondition (a request already pending, no leader to hand over, the target leads);
// 503 etcd refused or is unreachable (nothing written).
//
// The member's engine carries the request out (failover/switchover.h); the call does not wait
// for that: `rampart redis list` shows the new leader.
//
// Thread safety: the routes run on the member's event loop, as the view function does.

#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "net/http/server.h"
#include "store/store.h"

namespace rampart::redis {

struct OperatorView {
  std::string leader;        // the leader key's holder ("" none)
  bool leader_alive = false;  // and it heartbeats
  std::vector<std::string> replicas;  // members whose status says running replica
};

void addOperatorRoutes(net::http::Server& server, std::string operator_token, std::string prefix,
                       store::Store& store, std::function<OperatorView()> view,
                       Duration timeout = std::chrono::seconds(3));

}  // namespace rampart::redis

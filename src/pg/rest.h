#pragma once
// The member's REST API, in Patroni's shape so that HAProxy-style health checks carry over:
//   GET /primary (alias /leader, /read-write)  200 only on the writable leader, else 503;
//       with ?promoting, for a load balancer that moves new clients ahead of a promotion
//       (`rampart lb`, protocol postgres): 202 on a standby being promoted (it holds the leader
//       key, or a switchover names it; clients may connect, their statements wait for the 200),
//       307 on the leader handing over in a switchover (open sessions stay, new clients go to
//       the target)
//   GET /replica[?lag=<bytes>]                  200 on a running standby (within lag of the leader)
//   GET /read-only                              200 on the writable leader or a running standby
//   GET /health                                 200 while PostgreSQL runs
//   GET /liveness                               200 while the HA loop runs (within 2 x
//                                               leader_timeout)
//   GET /readiness                              200 on the leader, or a standby within the lag
//                                               limit
//   GET /status, /cluster, /history             JSON
//   POST /switchover {"to": "m2"}, /failover {"to": "m2"}, /pause, /resume, /restart,
//        /reinitialize                          operator calls: `Authorization: Bearer <token>`
//                                               with the operator credential (rest.token; refused
//                                               when none is configured)
//     /switchover, /failover, /pause and /resume are etcd writes and answer only once etcd has
//     acknowledged theirs (committed by its quorum: durable): 200 {"key", "value", "revision"}
//     with what was written; else 400 (bad request), 409 (a precondition failed, e.g. the leader
//     changed; nothing written), 503 (etcd did not acknowledge it: unreachable, or refused it)
//     or 504 (no answer within `mutation_timeout`: the outcome is unknown). Never 200 for a
//     write that did not happen. /restart and /reinitialize are requests to this member alone (no etcd write):
//     200 once noted, and the member acts on its next loop.
//   POST /failsafe {"leader": "m1"}             from the leader while it cannot reach etcd:
//                                               `Authorization: Vouch <proof>` made with the
//                                               member credential (rest_auth.h); accepted only
//                                               under decideVouch's rule (decide.h)
// /metrics, /healthz and /readyz come from the runtime's admin server, which this extends.

#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "base/result.h"
#include "net/http/server.h"
#include "pg/decide.h"
#include "pg/manager.h"

namespace rampart::pg {

// What a mutation wrote, once etcd acknowledged it.
struct Written {
  std::string key;
  std::string value;     // JSON (state.h's encodings)
  int64_t revision = 0;  // etcd's revision of the write
};

struct RestActions {
  std::function<MemberView()> view;
  std::function<std::string()> cluster_json;  // GET /cluster
  std::function<std::string()> history_json;  // GET /history
  // A vouch request: the leader it names, the proof it carries, and the verified client
  // certificate's common name ("" without one).
  std::function<VouchDecision(const std::string& leader, const std::string& proof,
                              const std::string& peer_name)>
      failsafe;
  // The etcd writes: each completes once etcd acknowledged the write, or with why not
  // (InvalidArgument, FailedPrecondition: nothing written; Unavailable: etcd did not acknowledge
  // it; DeadlineExceeded: the outcome is unknown). Each bounds its wait by `deadline`.
  // Coroutines: parameters by value.
  std::function<boost::asio::awaitable<Result<Written>>(std::string to, bool force,
                                                        TimePoint deadline)>
      switchover;
  std::function<boost::asio::awaitable<Result<Written>>(bool paused, TimePoint deadline)> pause;
  std::function<Result<void>()> restart;
  std::function<Result<void>()> reinitialize;
};

// `operator_token`: the operator credential (empty: operator calls are refused).
// `mutation_timeout`: the longest an etcd-writing call waits for its write (then 504).
// Takes the server's fallback (net/http/async_routes.h) for the etcd-writing calls.
void addRestRoutes(net::http::Server& server, std::string operator_token, int64_t maximum_lag,
                   Duration liveness_limit, RestActions actions,
                   Duration mutation_timeout = std::chrono::seconds(5));

// Parses Patroni's lag syntax: bytes, or with a unit (16kB, 10MB, 1GB).
Result<int64_t> parseLag(const std::string& text);

}  // namespace rampart::pg

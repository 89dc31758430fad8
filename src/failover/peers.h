#pragma once
// Peers: how the engine's failsafe (engine.h) reaches the other members of its group while the
// store does not answer. Each member's manager implements it over its REST API (POST /failsafe:
// pg/rest_auth.h's vouchRequest and answerVouch).
// Contract: bounded by `deadline` (monotonic); ok only when the member accepted (its answer
// was 200: it promises to stay out of any race for leader_timeout from then on).

#include <string>

#include <boost/asio/awaitable.hpp>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::failover {

class Peers {
 public:
  virtual ~Peers() = default;
  // Asks `member`, whose REST API its status names `api` ("host:port" or "https://host:port"),
  // to vouch for this member as the leader.
  virtual boost::asio::awaitable<Result<void>> askVouch(const std::string& member,
                                                        const std::string& api,
                                                        TimePoint deadline) = 0;
};

}  // namespace rampart::failover

#pragma once
// Choosing a backend for a new connection. Pure functions over a view of the backends, so every
// policy is tested without sockets. The result is an order to try: the policy's pick first, then
// the other usable backends, so a connect that fails (a backend dead but not yet detected) is
// retried on the next one before the client sees anything.
//   RoundRobin:       weighted, by a counter the caller advances per connection.
//   LeastConnections: fewest active connections per unit of weight; ties by the counter.
//   SourceHash:       weighted rendezvous hashing of the client address: a client keeps its
//                     backend while that backend is usable, and removing one backend moves only
//                     the clients that were on it.
// Backends that are down, have weight 0, or are at their connection limit are never tried.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace rampart::lb {

enum class Policy { RoundRobin, LeastConnections, SourceHash };
Result<Policy> parsePolicy(std::string_view text);  // round-robin|rr, least-connections|lc, source-hash|sh
std::string_view policyName(Policy p);

struct BackendView {
  uint64_t id_hash = 0;          // stable per backend (hash of its address), for SourceHash
  uint32_t weight = 1;
  int64_t active = 0;            // current connections
  int64_t max_connections = 0;   // 0: unlimited
  bool usable = true;            // health says it may take new connections
};

std::vector<size_t> connectOrder(Policy policy, std::span<const BackendView> backends,
                                 uint64_t counter, uint64_t source_hash);

uint64_t hashBytes(std::string_view bytes);

}  // namespace rampart::lb

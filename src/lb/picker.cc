#include "lb/picker.h"

#include <algorithm>
#include <cmath>

namespace rampart::lb {

Result<Policy> parsePolicy(std::string_view text) {
  if (text == "round-robin" || text == "rr" || text == "wrr") {
    return Policy::RoundRobin;
  }
  if (text == "least-connections" || text == "lc" || text == "wlc") {
    return Policy::LeastConnections;
  }
  if (text == "source-hash" || text == "sh") {
    return Policy::SourceHash;
  }
  return fail(ErrorCode::InvalidArgument, "unknown policy '", text,
              "' (use round-robin, least-connections or source-hash)");
}

std::string_view policyName(Policy p) {
  switch (p) {
    case Policy::RoundRobin:
      return "round-robin";
    case Policy::LeastConnections:
      return "least-connections";
    case Policy::SourceHash:
      return "source-hash";
  }
  return "round-robin";
}

uint64_t hashBytes(std::string_view bytes) {
  // FNV-1a, then a finalizer so nearby inputs spread (rendezvous needs uniform scores).
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h = (h ^ c) * 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

namespace {

bool eligible(const BackendView& b) {
  return b.usable && b.weight > 0 && (b.max_connections <= 0 || b.active < b.max_connections);
}

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t h = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::vector<size_t> connectOrder(Policy policy, std::span<const BackendView> backends,
                                 uint64_t counter, uint64_t source_hash) {
  std::vector<size_t> usable;
  for (size_t i = 0; i < backends.size(); ++i) {
    if (eligible(backends[i])) {
      usable.push_back(i);
    }
  }
  if (usable.empty()) {
    return usable;
  }
  switch (policy) {
    case Policy::RoundRobin: {
      uint64_t total = 0;
      for (size_t i : usable) {
        total += backends[i].weight;
      }
      uint64_t slot = counter % total;
      size_t first = 0;
      for (size_t k = 0; k < usable.size(); ++k) {
        if (slot < backends[usable[k]].weight) {
          first = k;
          break;
        }
        slot -= backends[usable[k]].weight;
      }
      std::rotate(usable.begin(), usable.begin() + static_cast<long>(first), usable.end());
      return usable;
    }
    case Policy::LeastConnections: {
      // Rotate first so equal loads are spread by the counter, then a stable sort by load.
      std::rotate(usable.begin(), usable.begin() + static_cast<long>(counter % usable.size()),
                  usable.end());
      std::stable_sort(usable.begin(), usable.end(), [&](size_t a, size_t b) {
        // active_a / weight_a < active_b / weight_b, without division.
        return backends[a].active * backends[b].weight < backends[b].active * backends[a].weight;
      });
      return usable;
    }
    case Policy::SourceHash: {
      std::vector<std::pair<double, size_t>> scored;
      for (size_t i : usable) {
        // Weighted rendezvous: score = -w / ln(u), u uniform in (0, 1).
        double u = (static_cast<double>(mix(source_hash, backends[i].id_hash) >> 11) + 0.5) /
                   9007199254740992.0;
        scored.emplace_back(-static_cast<double>(backends[i].weight) / std::log(u), i);
      }
      std::sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
      std::vector<size_t> order;
      for (auto& [score, i] : scored) {
        order.push_back(i);
      }
      return order;
    }
  }
  return usable;
}

}  // namespace rampart::lb

// Service cluster IP allocation (kube-apiserver's ClusterIP allocator), over etcd.
//
// Invariant: no two Services ever hold the same cluster IP, however many API servers write.
//   - An IP is held iff the key <prefix>/ipaddresses/<ip> exists (its claim).
//   - A Service with a cluster IP is created in ONE etcd transaction with its claim, guarded by
//     create_revision(service) == 0 AND create_revision(claim) == 0. etcd serialises
//     transactions, so of k creates claiming one IP (from any servers) exactly one commits and
//     k-1 see the claim and fail: a requested IP answers 422 "already allocated", a picked one
//     is picked again (bounded).
//   - The cluster IP never changes while the Service lives (keepClusterIp refuses a change), and
//     the Service is deleted in ONE transaction with its claim (ApiHandler::remove / store).
// Hence at every etcd revision Service → IP is injective and each held IP has exactly one
// Service. A crash cannot leak a claim: there is no moment where one exists without the other.
// (Services written before this allocator existed hold no claim; see docs/OPERATIONS.md.)

#include <random>
#include <set>

#include "api/handler.h"

namespace rampart::api {
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

constexpr const char* kIpClaims = "ipaddresses";
// Picks that lose a race to another server pick again; each loss means another Service got an
// IP, so with a non-full range a handful suffices.
constexpr int kAllocationAttempts = 8;

ApiResponse reply(int status, json body) { return ApiResponse{status, std::move(body), 0, {}}; }

uint64_t randomOffset() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return generator();
}

bool isDryRun(const ApiRequest& req) {
  auto it = req.info.query.find("dryRun");
  return it != req.info.query.end() && it->second == "All";
}

}  // namespace

std::vector<std::string> ApiHandler::claimsOf(const ResourceInfo& r, const json& object) const {
  if (r.kind != "Service") {
    return {};
  }
  auto ip = parseIpv4(object.value("/spec/clusterIP"_json_pointer, std::string()));
  if (!ip) {
    return {};
  }
  return {objects_.claimKey(kIpClaims, formatIpv4(*ip))};
}

asio::awaitable<ApiResponse> ApiHandler::createService(const ResourceInfo& r,
                                                       const ApiRequest& req, json service) {
  std::string name = service["metadata"].value("name", "");
  StatusSubject subject{r.group, r.plural, r.kind, name};
  ClusterIpWish wish = clusterIpWishOf(service);
  if (!wish.errors.empty()) {
    co_return reply(422, statusInvalid(subject, wish.errors));
  }
  if (wish.kind == ClusterIpWish::Kind::kThis && !service_ips_.usable(wish.ip)) {
    co_return reply(422, statusInvalid(subject, {ipNotInRange(service, wish.ip, service_ips_)}));
  }
  const std::string claim_kind = kIpClaims;  // a local: no temporaries around co_await (g++ 12)
  for (int attempt = 0; attempt < kAllocationAttempts; ++attempt) {
    json candidate = service;
    std::vector<std::string> claims;
    if (wish.kind == ClusterIpWish::Kind::kHeadless) {
      setClusterIp(candidate, "None");
    } else if (wish.kind == ClusterIpWish::Kind::kThis) {
      setClusterIp(candidate, formatIpv4(wish.ip));
      claims.push_back(objects_.claimKey(kIpClaims, formatIpv4(wish.ip)));
    } else if (wish.kind == ClusterIpWish::Kind::kAny) {
      auto held = co_await objects_.claims(claim_kind);
      if (!held) {
        co_return errorResponse(held.error(), subject);
      }
      std::set<uint32_t> taken;
      for (const auto& id : *held) {
        if (auto ip = parseIpv4(id)) {
          taken.insert(*ip);
        }
      }
      auto ip = pickFreeIp(service_ips_, taken, randomOffset());
      if (!ip) {
        co_return reply(500, statusFailure(500, "InternalError",
                                           "Internal error occurred: failed to allocate a "
                                           "serviceIP: range is full"));
      }
      setClusterIp(candidate, formatIpv4(*ip));
      claims.push_back(objects_.claimKey(kIpClaims, formatIpv4(*ip)));
    }
    if (isDryRun(req)) {
      // Nothing is written; a requested IP is still checked against the claims held now.
      if (wish.kind == ClusterIpWish::Kind::kThis) {
        auto held = co_await objects_.claims(claim_kind);
        if (!held) {
          co_return errorResponse(held.error(), subject);
        }
        for (const auto& id : *held) {
          if (id == formatIpv4(wish.ip)) {
            co_return reply(422, statusInvalid(subject, {ipAlreadyAllocated(service, wish.ip)}));
          }
        }
      }
      co_return reply(201, std::move(candidate));
    }
    auto created = co_await objects_.create(r, std::move(candidate), claims);
    if (created) {
      co_return reply(201, std::move(*created));
    }
    if (created.error().code != ErrorCode::FailedPrecondition) {
      co_return errorResponse(created.error(), subject);
    }
    // The claim is held by another Service.
    if (wish.kind == ClusterIpWish::Kind::kThis) {
      co_return reply(422, statusInvalid(subject, {ipAlreadyAllocated(service, wish.ip)}));
    }
  }
  co_return reply(500, statusFailure(500, "InternalError",
                                     "Internal error occurred: failed to allocate a serviceIP: "
                                     "lost every race for a free IP"));
}

}  // namespace rampart::api

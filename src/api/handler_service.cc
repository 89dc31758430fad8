// Service cluster IP allocation (kube-apiserver's ClusterIP allocator), over etcd.
//
// Invariant: no two Services ever hold the same cluster IP, however many API servers write.
//   - An IP is held iff the key <prefix>/ipaddresses/<ip> exists (its claim).
//   - A Service with a cluster IP is created in ONE etcd transaction with its claim, guarded by
//     create_revision(service) == 0 AND create_revision(claim) == 0. etcd serialises
//     transactions, so of k creates claiming one IP (from any servers) exactly one commits and
//     k-1 see the claim and fail: a requested IP answers 422 "already allocated", a picked one
//     is picked again (bounded).
//   - The cluster IP never changes while the Service keeps a type that has one
//     (clusterIpUpdateOf refuses a change). A type change is ONE transaction guarded by
//     mod_revision(service) == R (as node ports below): to ExternalName it deletes the claim of
//     R's IP, from ExternalName it creates (guarded, create_revision == 0) the claim of the IP it
//     picks. The Service is deleted in ONE transaction with its claim (ApiHandler::remove /
//     store).
// Hence at every etcd revision Service → IP is injective and each held IP has exactly one
// Service. A crash cannot leak a claim: there is no moment where one exists without the other.
// Services written before claims existed hold an IP without a claim. Allocation treats their IPs
// as taken (takenClusterIps lists the stored Services until one list finds every IP claimed), and
// their next update writes the claim (guarded, create_revision == 0) in its transaction; a
// release deletes a claim only if this Service is its holder.
//
// Node ports (--service-node-port-range), the same way.
// Invariant: no node port is ever held by two Services, however many API servers write.
//   - A port is held iff the key <prefix>/nodeports/<port> exists. As in Kubernetes the key has
//     no protocol: a Service's TCP and UDP entries of one number share the one claim, and no
//     other Service can take that number on any protocol.
//   - create: the Service and a claim per distinct node port in ONE transaction, each claim
//     guarded by create_revision == 0 (as the IP's).
//   - update: ONE transaction guarded by mod_revision(service) == R, where R is the revision of
//     the version read (`current`; an unconditional update is made conditional on it). It puts
//     the new version, creates (guarded, create_revision == 0) the claims of ports the new
//     version holds and version R did not, and deletes those of ports R held and the new one
//     does not. By induction the claims of a Service at every revision are exactly the node
//     ports of its stored version: true at create; an update applies the difference between R's
//     set and the new set, and commits only if the stored version is still R.
//   - delete: ONE transaction guarded by mod_revision == R deleting the claims of version R.
//   Two Services holding port p would need two claims on one key: impossible, a key exists
//   once, and the second create of it fails its create_revision == 0 compare. A lost race is
//   a 422 for a requested port and a new pick for a picked one (bounded).

#include <charconv>
#include <random>
#include <set>

#include "api/handler.h"

namespace rampart::api {
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

constexpr const char* kIpClaims = "ipaddresses";
constexpr const char* kNodePortClaims = "nodeports";
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
  std::vector<std::string> claims;
  if (auto ip = parseIpv4(object.value("/spec/clusterIP"_json_pointer, std::string()))) {
    claims.push_back(objects_.claimKey(kIpClaims, formatIpv4(*ip)));
  }
  for (int port : nodePortsOf(object)) {
    claims.push_back(objects_.claimKey(kNodePortClaims, std::to_string(port)));
  }
  return claims;
}

namespace {

// Node ports claimed now (the ids of <prefix>/nodeports/...).
std::set<int> portsOfClaims(const std::vector<std::string>& ids) {
  std::set<int> ports;
  for (const auto& id : ids) {
    int port = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), port);
    if (ec == std::errc() && end == id.data() + id.size()) {
      ports.insert(port);
    }
  }
  return ports;
}

ApiResponse ipRangeFull() {
  return reply(500, statusFailure(500, "InternalError",
                                  "Internal error occurred: failed to allocate a serviceIP: range "
                                  "is full"));
}

bool holds(const std::optional<json>& holder, const json& service) {
  return holder && holder->value("resource", "") == "services" &&
         holder->value("namespace", "") ==
             service.value("/metadata/namespace"_json_pointer, std::string()) &&
         holder->value("name", "") == service.value("/metadata/name"_json_pointer, std::string());
}

ApiResponse nodePortRangeFull() {
  return reply(500, statusFailure(500, "InternalError",
                                  "Internal error occurred: failed to allocate a nodePort: range "
                                  "is full"));
}

}  // namespace

asio::awaitable<Result<std::set<uint32_t>>> ApiHandler::takenClusterIps(const ResourceInfo& r) {
  const std::string ip_kind = kIpClaims;  // a local: no temporaries around co_await
  auto held = co_await objects_.claims(ip_kind);
  if (!held) {
    co_return fail(held.error());
  }
  std::set<uint32_t> taken;
  for (const auto& id : *held) {
    if (auto ip = parseIpv4(id)) {
      taken.insert(*ip);
    }
  }
  if (stored_ips_claimed_) {
    co_return taken;
  }
  const std::string all_namespaces;  // locals: no temporaries around co_await (g++ 12)
  ListOptions everything;
  auto stored = co_await objects_.list(r, all_namespaces, std::move(everything));
  if (!stored) {
    co_return fail(stored.error());
  }
  bool all_claimed = true;
  for (const auto& service : stored->items) {
    auto ip = parseIpv4(service.value("/spec/clusterIP"_json_pointer, std::string()));
    if (ip && needsClusterIp(service) && taken.insert(*ip).second) {
      all_claimed = false;  // stored before claims existed: its IP is still its own
    }
  }
  // Claims were read before the list: a Service created between the two is claimed and listed,
  // so it can only make all_claimed false, never hide a claimless one.
  stored_ips_claimed_ = all_claimed;
  co_return taken;
}

asio::awaitable<ApiResponse> ApiHandler::createService(const ResourceInfo& r, const ApiRequest& req,
                                                       json service) {
  std::string name = service["metadata"].value("name", "");
  StatusSubject subject{r.group, r.plural, r.kind, name};
  ClusterIpWish wish = clusterIpWishOf(service);
  for (auto& e : validateExternalNameIp(service)) {
    wish.errors.push_back(std::move(e));
  }
  if (!wish.errors.empty()) {
    co_return reply(422, statusInvalid(subject, wish.errors));
  }
  if (wish.kind == ClusterIpWish::Kind::kThis && !service_ips_.usable(wish.ip)) {
    co_return reply(422, statusInvalid(subject, {ipNotInRange(service, wish.ip, service_ips_)}));
  }
  std::vector<NodePortWish> port_wishes = nodePortWishesOf(service);
  const std::string port_kind = kNodePortClaims;  // a local: no temporaries around co_await
  for (int attempt = 0; attempt < kAllocationAttempts; ++attempt) {
    json candidate = service;
    std::vector<std::string> claims;
    if (wish.kind == ClusterIpWish::Kind::kHeadless) {
      setClusterIp(candidate, "None");
    } else if (wish.kind == ClusterIpWish::Kind::kThis || wish.kind == ClusterIpWish::Kind::kAny) {
      // Read every attempt: a requested IP taken meanwhile is a 422 here, not a lost txn.
      auto taken = co_await takenClusterIps(r);
      if (!taken) {
        co_return errorResponse(taken.error(), subject);
      }
      std::optional<uint32_t> ip;
      if (wish.kind == ClusterIpWish::Kind::kThis) {
        if (taken->count(wish.ip)) {
          co_return reply(422, statusInvalid(subject, {ipAlreadyAllocated(service, wish.ip)}));
        }
        ip = wish.ip;
      } else {
        ip = pickFreeIp(service_ips_, *taken, randomOffset());
        if (!ip) {
          co_return ipRangeFull();
        }
      }
      setClusterIp(candidate, formatIpv4(*ip));
      claims.push_back(objects_.claimKey(kIpClaims, formatIpv4(*ip)));
    }
    if (!port_wishes.empty()) {
      auto held = co_await objects_.claims(port_kind);
      if (!held) {
        co_return errorResponse(held.error(), subject);
      }
      NodePortAllocation ports =
          allocateNodePorts(port_wishes, node_ports_, {}, portsOfClaims(*held), randomOffset());
      if (!ports.errors.empty()) {
        co_return reply(422, statusInvalid(subject, ports.errors));
      }
      if (ports.full) {
        co_return nodePortRangeFull();
      }
      setNodePorts(candidate, ports);
      for (int port : ports.held) {
        claims.push_back(objects_.claimKey(kNodePortClaims, std::to_string(port)));
      }
    }
    if (isDryRun(req)) {
      co_return reply(201, std::move(candidate));  // checked against the claims held now
    }
    auto created = co_await objects_.create(r, std::move(candidate), claims);
    if (created) {
      co_return reply(201, std::move(*created));
    }
    if (created.error().code != ErrorCode::FailedPrecondition) {
      co_return errorResponse(created.error(), subject);
    }
    // A claim was taken between the read and the transaction: the next attempt's read answers
    // 422 for a requested one and picks another for a picked one.
  }
  co_return reply(500, statusFailure(500, "InternalError",
                                     "Internal error occurred: failed to allocate a serviceIP or "
                                     "nodePort: lost every race for a free one"));
}

asio::awaitable<ApiResponse> ApiHandler::updateService(const ResourceInfo& r, const ApiRequest& req,
                                                       json next, const json& current,
                                                       store::Revision expected) {
  StatusSubject subject{r.group, r.plural, r.kind, req.info.name};
  // store() applied it already; it is idempotent, and says what happens to the IP.
  ClusterIpUpdate ip_update = clusterIpUpdateOf(next, current);
  if (!ip_update.errors.empty()) {
    co_return reply(422, statusInvalid(subject, ip_update.errors));
  }
  const ClusterIpWish& ip_wish = ip_update.wish;
  bool allocates = ip_update.kind == ClusterIpUpdate::Kind::kAllocate &&
                   (ip_wish.kind == ClusterIpWish::Kind::kAny ||
                    ip_wish.kind == ClusterIpWish::Kind::kThis);
  if (allocates && ip_wish.kind == ClusterIpWish::Kind::kThis &&
      !service_ips_.usable(ip_wish.ip)) {
    co_return reply(422, statusInvalid(subject, {ipNotInRange(next, ip_wish.ip, service_ips_)}));
  }
  std::vector<NodePortWish> wishes = nodePortWishesOf(next);
  const std::set<int> own = nodePortsOf(current);
  bool picks = false;
  for (const auto& w : wishes) {
    picks = picks || w.node_port == 0 || !own.count(w.node_port);
  }
  const std::string port_kind = kNodePortClaims;  // a local: no temporaries around co_await
  for (int attempt = 0; attempt < kAllocationAttempts; ++attempt) {
    json candidate = next;
    std::vector<std::string> claims;
    std::vector<std::string> releases;
    // The claim of the IP kept or given up: who holds it decides whether this update writes it
    // (a Service stored before claims existed) or may delete it (never another Service's).
    std::optional<json> ip_holder;
    if (ip_update.kind == ClusterIpUpdate::Kind::kKeep ||
        ip_update.kind == ClusterIpUpdate::Kind::kRelease) {
      const std::string ip_kind = kIpClaims;
      const std::string held_ip = formatIpv4(ip_update.held);
      auto holder = co_await objects_.claimHolder(ip_kind, held_ip);
      if (!holder) {
        co_return errorResponse(holder.error(), subject);
      }
      ip_holder = std::move(*holder);
    }
    if (ip_update.kind == ClusterIpUpdate::Kind::kAllocate &&
        ip_wish.kind == ClusterIpWish::Kind::kHeadless) {
      setClusterIp(candidate, "None");
    } else if (allocates) {
      auto ips = co_await takenClusterIps(r);
      if (!ips) {
        co_return errorResponse(ips.error(), subject);
      }
      std::optional<uint32_t> ip;
      if (ip_wish.kind == ClusterIpWish::Kind::kThis) {
        if (ips->count(ip_wish.ip)) {
          co_return reply(422, statusInvalid(subject, {ipAlreadyAllocated(next, ip_wish.ip)}));
        }
        ip = ip_wish.ip;
      } else {
        ip = pickFreeIp(service_ips_, *ips, randomOffset());
        if (!ip) {
          co_return ipRangeFull();
        }
      }
      setClusterIp(candidate, formatIpv4(*ip));
      claims.push_back(objects_.claimKey(kIpClaims, formatIpv4(*ip)));
    } else if (ip_update.kind == ClusterIpUpdate::Kind::kKeep && !ip_holder) {
      // Stored before claims existed: the IP is still its own (takenClusterIps kept it from
      // every allocation); claim it now.
      claims.push_back(objects_.claimKey(kIpClaims, formatIpv4(ip_update.held)));
    } else if (ip_update.kind == ClusterIpUpdate::Kind::kRelease && holds(ip_holder, current)) {
      releases.push_back(objects_.claimKey(kIpClaims, formatIpv4(ip_update.held)));
    }
    std::set<int> taken;
    if (picks) {
      auto held = co_await objects_.claims(port_kind);
      if (!held) {
        co_return errorResponse(held.error(), subject);
      }
      taken = portsOfClaims(*held);
    }
    NodePortAllocation ports = allocateNodePorts(wishes, node_ports_, own, taken, randomOffset());
    if (!ports.errors.empty()) {
      co_return reply(422, statusInvalid(subject, ports.errors));
    }
    if (ports.full) {
      co_return nodePortRangeFull();
    }
    setNodePorts(candidate, ports);
    for (int port : ports.held) {
      if (!own.count(port)) {
        claims.push_back(objects_.claimKey(kNodePortClaims, std::to_string(port)));
      }
    }
    for (int port : own) {
      if (!ports.held.count(port)) {
        releases.push_back(objects_.claimKey(kNodePortClaims, std::to_string(port)));
      }
    }
    if (isDryRun(req)) {
      co_return reply(200, std::move(candidate));
    }
    auto written = co_await objects_.update(r, std::move(candidate), expected, claims, releases);
    if (written) {
      co_return reply(200, std::move(*written));
    }
    if (written.error().code != ErrorCode::AlreadyExists) {
      co_return errorResponse(written.error(), subject);
    }
    // An IP or port claimed between the read and the transaction: read again.
  }
  co_return reply(500, statusFailure(500, "InternalError",
                                     "Internal error occurred: failed to allocate a serviceIP or "
                                     "nodePort: lost every race for a free one"));
}

}  // namespace rampart::api

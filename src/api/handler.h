#pragma once
// ApiHandler: the Kubernetes API's request semantics, between the HTTP server and the
// ObjectStore: discovery documents, get/list (JSON or Table), create, update, the three patch
// types, delete (graceful for bound pods, finalizers, propagation policies) and
// deletecollection, the status and scale subresources, pod binding and eviction, with defaults,
// validation, optimistic concurrency and `Status` errors as kube-apiserver answers them.
// Invalid input changes nothing; dryRun=All runs everything but the write. Watches are
// streamed by the server from ObjectStore::watch events (toWatchEvent), not here.
// Use from the store's event loop only.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/object_store.h"
#include "api/request_info.h"
#include "api/service_ip.h"
#include "api/service_node_port.h"
#include "api/status.h"
#include "api/table.h"

namespace rampart::api {

struct ApiRequest {
  RequestInfo info;
  std::string content_type;  // of the body
  std::string accept;        // e.g. "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
  std::string body;
  UserInfo user;  // who is calling (SelfSubjectReview answers it)
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
  int retry_after_seconds = 0;  // set with 503 and 429
  std::vector<std::string> warnings;
};

class ApiHandler {
 public:
  using WallClock = std::function<WallTime()>;
  // `service_ips`: --service-cluster-ip-range (kube-apiserver's default 10.96.0.0/12);
  // `node_ports`: --service-node-port-range (30000-32767).
  ApiHandler(ObjectStore& objects, WallClock wall_clock,
             Ipv4Range service_ips = defaultServiceIpRange(),
             PortRange node_ports = defaultNodePortRange());

  boost::asio::awaitable<ApiResponse> handle(ApiRequest request);

 private:
  boost::asio::awaitable<ApiResponse> getOne(const ResourceInfo& r, const ApiRequest& req);
  boost::asio::awaitable<ApiResponse> list(const ResourceInfo& r, const ApiRequest& req);
  boost::asio::awaitable<ApiResponse> create(const ResourceInfo& r, const ApiRequest& req);
  boost::asio::awaitable<ApiResponse> update(const ResourceInfo& r, const ApiRequest& req);
  boost::asio::awaitable<ApiResponse> patch(const ResourceInfo& r, const ApiRequest& req);
  boost::asio::awaitable<ApiResponse> remove(const ResourceInfo& r, const ApiRequest& req);
  boost::asio::awaitable<ApiResponse> removeCollection(const ResourceInfo& r,
                                                       const ApiRequest& req);
  boost::asio::awaitable<ApiResponse> bind(const ResourceInfo& r, const ApiRequest& req);
  ApiResponse selfSubjectReview(const ApiRequest& req);
  // A Service with its cluster IP claimed in the same etcd transaction (handler_service.cc).
  boost::asio::awaitable<ApiResponse> createService(const ResourceInfo& r, const ApiRequest& req,
                                                    nlohmann::json service);
  // A Service's update with the cluster IP and node ports it gains claimed and those it drops
  // released in the same etcd transaction (handler_service.cc); `expected` is `current`'s
  // revision.
  boost::asio::awaitable<ApiResponse> updateService(const ResourceInfo& r, const ApiRequest& req,
                                                    nlohmann::json next,
                                                    const nlohmann::json& current,
                                                    store::Revision expected);
  // Every cluster IP an allocation must avoid: the claims held, and the IPs of stored Services
  // written before claims existed (handler_service.cc).
  boost::asio::awaitable<Result<std::set<uint32_t>>> takenClusterIps(const ResourceInfo& r);
  // The claims an object holds, released when it is deleted.
  std::vector<std::string> claimsOf(const ResourceInfo& r, const nlohmann::json& object) const;
  // pods/eviction (handler_eviction.cc).
  boost::asio::awaitable<ApiResponse> evict(const ResourceInfo& r, const ApiRequest& req);
  // Writes `next` (already defaulted and validated) over `current` for the request's
  // subresource, with the optimistic-concurrency check of `expected`.
  boost::asio::awaitable<ApiResponse> store(const ResourceInfo& r, const ApiRequest& req,
                                            nlohmann::json next, const nlohmann::json& current,
                                            int success_status);

  ObjectStore& objects_;
  WallClock wall_clock_;
  Ipv4Range service_ips_;
  PortRange node_ports_;
  // Set once a list of the stored Services found every cluster IP claimed: no claimless
  // Service can appear afterwards (every write claims), so later allocations read claims only.
  bool stored_ips_claimed_ = false;
};

// The HTTP answer for an error of the lower layers (NotFound → 404 Status, ...).
ApiResponse errorResponse(const Error& error, const StatusSubject& subject);
// Whether the Accept header asks for a Table (as=Table;g=meta.k8s.io).
bool wantsTable(const std::string& accept);

}  // namespace rampart::api

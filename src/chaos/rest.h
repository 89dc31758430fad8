#pragma once
// Blocking HTTP calls for the chaos harness, each bounded by a timeout: member REST APIs
// (Patroni's shape: /primary answers 200 only on the writable leader) and etcd's JSON gateway.
// Each call runs the project's HTTP client (net::http::fetchOnce, a fresh connection per request)
// on its own short-lived event loop, so any thread may call these concurrently.

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "chaos/cluster.h"
#include "net/endpoint.h"
#include "net/http/types.h"
#include "net/tls.h"

namespace rampart::chaos {

struct HttpCall {
  net::Endpoint endpoint;
  net::http::Request request;
  net::TlsFiles tls;  // for an https:// endpoint: verified with these files
};

// Runs the calls concurrently; every answer (or error) by `timeout`, in the calls' order.
std::vector<Result<net::http::Response>> httpAll(const std::vector<HttpCall>& calls,
                                                 Duration timeout);
// For an https:// endpoint, verified with `tls` (a member's REST: the cluster's rest_tls).
Result<net::http::Response> httpGet(const net::Endpoint& endpoint, const std::string& target,
                                    Duration timeout, const net::TlsFiles& tls = {});

struct Roles {
  std::vector<std::string> primaries;  // members whose /primary answered 200
  std::vector<std::string> replicas;   // members whose /replica answered 200
};

// Asks every member's /primary and /replica at once (over HTTPS with the cluster's rest_tls for
// an https:// member).
Roles probeRoles(const Cluster& cluster, Duration timeout);

// The one member answering /primary, polling until `timeout` or `cancel` (nullopt if none, or if
// several still answer at the end; `roles` then holds the last answers).
std::optional<std::string> waitForPrimary(const Cluster& cluster, Duration timeout,
                                          Roles* roles = nullptr,
                                          const std::atomic<bool>* cancel = nullptr);

// The etcd member that is the raft leader (asks /v3/maintenance/status), or nullopt.
std::optional<size_t> etcdLeader(const Cluster& cluster, Duration timeout);

}  // namespace rampart::chaos

#pragma once
// ApiServer: the Kubernetes-compatible API over HTTPS, as `rampart server` runs it. It puts
// ApiHandler (request semantics) and WatchSession (streamed watches) behind net::http::Server
// and adds what sits around them in kube-apiserver:
//   - authentication on every request: a bearer token from the token file, or a client
//     certificate signed by the client CA; 401 otherwise;
//   - request bodies in JSON or YAML, at most 3 MiB (413), answers in JSON with `Warning: 299`
//     and `Retry-After` headers where the handler gives them;
//   - watches streamed as JSON lines (chunked), as Tables when kubectl asks for them; a watcher
//     that stops reading is cut off after the write timeout; `timeoutSeconds` ends a watch;
//   - pods/log proxied to the pod's node agent (api/log_proxy.h), streamed with follow;
//   - pods/exec: the client's WebSocket upgrade forwarded to the node agent and spliced
//     (api/pod_exec.h, api/upgrade_proxy.h); pods/attach answers 400;
//   - /healthz, /livez, /readyz (etcd answered within the last 3 s) and /metrics
//     (apiserver_request_total / _duration_seconds by verb and resource, watch counts, etcd
//     probe latency).
// Stateless: several ApiServers may serve one etcd. Use from the store's event loop only.

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "api/auth.h"
#include "api/service_ip.h"
#include "api/service_node_port.h"
#include "base/clock.h"
#include "base/result.h"
#include "metrics/metrics.h"
#include "net/endpoint.h"
#include "net/tls.h"
#include "store/store.h"

namespace rampart::api {

struct ApiServerOptions {
  std::string prefix = "/registry";          // the API's keys in etcd
  std::optional<TokenTable> tokens;          // --token-auth-file
  bool client_certificates = false;          // --client-ca-file given (TLS verifies the chain)
  Ipv4Range service_ips = defaultServiceIpRange();  // --service-cluster-ip-range
  PortRange node_ports = defaultNodePortRange();    // --service-node-port-range
  net::TlsFiles kubelet_tls;  // --kubelet-certificate-authority, --kubelet-client-certificate/key
  size_t body_limit = 3 * 1024 * 1024;       // kube-apiserver's limit for one object
  Duration write_timeout = std::chrono::seconds(10);
  Duration ready_window = std::chrono::seconds(3);  // /readyz: etcd answered this recently
  // A watch that asked for bookmarks gets one after this long without events: the client's
  // proof that its stream is alive, so a stream held by a stalled server (frozen, cut off) is
  // noticed and replaced within a few intervals, not after minutes (kube-apiserver: ~1 min).
  // 250 ms: below half of the controllers' 1 s node grace (controller/node_lifecycle.h).
  Duration watch_bookmark_interval = std::chrono::milliseconds(250);
};

class ApiServer {
 public:
  ApiServer(boost::asio::any_io_executor executor, store::Store& store, const Clock& clock,
            metrics::Registry& registry, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Before listen(): serve HTTPS (`files.ca` = the client CA).
  Result<void> useTls(const net::TlsFiles& files);
  Result<net::Endpoint> listen(const net::Endpoint& where);
  // Probes etcd once a second for /readyz and the etcd latency metric, until stop().
  boost::asio::awaitable<void> probeEtcd();
  void stop();
  bool ready() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rampart::api

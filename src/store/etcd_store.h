#pragma once
// EtcdStore: the Store interface over a real etcd 3.4+ cluster, spoken through etcd's JSON
// gateway (/v3/...) with Rampart's HTTP client (docs/ARCHITECTURE.md says why not gRPC).
//
// Endpoint failover: calls go to the member that answered last; when it refuses, resets, times
// out or reports that it has no leader, the call moves on to the next endpoint, until the
// request timeout (monotonic) runs out. Then the error names every endpoint tried and why.
// A single attempt gets at most its share of the timeout, so one hung member cannot use it all.
//
// Watches run on their own connection, send etcd's "require leader" metadata (a member cut off
// from the quorum cancels the watch instead of going silent), and resume elsewhere from the last
// delivered revision + 1 after any break.
//
// Security: https:// endpoints are spoken to over TLS (options.tls: the CA the members are
// verified against, and the client certificate when etcd runs with --client-cert-auth). With a
// `user`, the store authenticates (POST /v3/auth/authenticate) before its first call and sends
// the token with every request and watch; a token etcd calls invalid (expired, or revoked by a
// restart) is renewed once per call. PermissionDenied (the role lacks the key range) is returned
// at once, never retried. etcd's JSON gateway ignores client-certificate common names for
// authentication (and refuses certificates that carry one while etcd auth is on), so with auth
// the user comes from `user` and the password, and the client certificate must have an empty CN.
//
// Not thread-safe: create and use it on one event loop.

#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "net/endpoint.h"
#include "net/tls.h"
#include "store/store.h"

namespace rampart::net::http {
class Client;
}

namespace rampart::store {

struct EtcdOptions {
  std::vector<net::Endpoint> endpoints;
  Duration request_timeout = std::chrono::seconds(2);
  // A linearizable read of one key: each member's first try is cut after this long (see
  // range()); later tries get their share of request_timeout. Zero: no shorter first round.
  Duration single_read_attempt = std::chrono::milliseconds(200);
  // A watch stream silent for this long is re-established (from its resume revision), so a hung
  // member is left within this bound even when no event is due.
  Duration watch_idle_timeout = std::chrono::seconds(10);
  net::TlsFiles tls;  // for https:// endpoints
  std::string user;   // etcd auth user; empty: no authentication request
  std::string password;
  // Read (after a permission check) each time a token is needed, when `password` is empty.
  std::string password_file;
};

struct EtcdAuthState;

// Parses "http://127.0.0.1:2379,127.0.0.1:22379" (etcdctl's --endpoints syntax).
Result<std::vector<net::Endpoint>> parseEndpointList(std::string_view text);

class EtcdStore final : public Store {
 public:
  EtcdStore(boost::asio::any_io_executor executor, EtcdOptions options);
  ~EtcdStore() override;

  // Store
  Async<RangeResponse> range(RangeRequest request) override;
  Async<PutResponse> put(PutRequest request) override;
  Async<DeleteResponse> deleteRange(DeleteRequest request) override;
  Async<TxnResponse> txn(TxnRequest request) override;
  Async<void> compact(Revision revision) override;
  Async<LeaseGrantResponse> leaseGrant(std::chrono::seconds ttl) override;
  Async<void> leaseRevoke(LeaseId id) override;
  Async<LeaseKeepAliveResponse> leaseKeepAliveOnce(LeaseId id) override;
  Async<LeaseTimeToLiveResponse> leaseTimeToLive(LeaseId id, bool with_keys) override;
  WatchPtr watch(WatchRequest request) override;

  const EtcdOptions& options() const { return options_; }

 private:
  // POSTs `body` to `path` with endpoint failover; the body of the 200 answer, or the error.
  // `first_attempts` (> 0): the first round gives each member at most this long.
  Async<std::string> call(std::string path, std::string body,
                          Duration first_attempts = Duration::zero());
  // One attempt at one member (authenticating first when there is no token yet).
  Async<std::string> callOnce(net::Endpoint endpoint, std::string path, std::string body,
                              TimePoint deadline, TimePoint auth_deadline);

  boost::asio::any_io_executor executor_;
  EtcdOptions options_;
  std::unique_ptr<net::http::Client> client_;
  std::shared_ptr<EtcdAuthState> auth_;  // shared with watches
  size_t preferred_ = 0;  // index of the endpoint that answered last
};

}  // namespace rampart::store

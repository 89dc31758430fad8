#pragma once
// Active health probes. One probe opens a fresh connection (never a pooled one: a pooled
// connection would hide a backend that stopped accepting), finishes within its timeout, and
// reports pass/fail with a short reason for event logs ("connection refused", "HTTP 503").
//   tcp:  the TCP handshake completes.
//   http: GET <path> answers with a status in [status_min, status_max] or in extra_statuses
//         (lvscare's --health-status); over TLS when `tls` is set (certificate not verified,
//         like lvscare's default --health-insecure-skip-verify). A role check is an http probe of a
//         role endpoint such as Rampart's or Patroni's /primary, which answers 200 only on the
//         writable primary. `promoting_status` and `draining_status` (Rampart's
//         /primary?promoting answers 202 on a member being promoted, 307 on a leader handing
//         over) are never a pass: the probe reports them as `promoting` or `draining` instead.
//         With `tls_context` (a health check's `tls: {ca, cert, key, server_name}`, built once by
//         makeProbeTlsContext): the client certificate is presented (a backend that requires one,
//         e.g. a pg REST API with rest.tls.client_auth), and with `ca` the backend's certificate
//         is verified (its name: server_name, else the backend's address); without `ca` it is
//         not, as above. A refused certificate fails the probe with OpenSSL's reason.
//   postgres, redis: the member's role (pg_probe.h, redis_probe.h).
// A probe that fails while this process cannot open a socket itself (EMFILE and kin) is
// `inconclusive`, not failed: the balancer must not mark a healthy backend down for its own
// exhaustion.

#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/tls.h"

namespace rampart::health {

struct ProbeSpec {
  enum class Kind { Tcp, Http, Postgres, Redis };
  Kind kind = Kind::Tcp;
  bool tls = false;  // http over TLS (https)
  Duration timeout = std::chrono::seconds(1);
  std::string method = "GET";
  std::string path = "/healthz";
  int status_min = 200;
  int status_max = 399;
  std::vector<int> extra_statuses;
  int promoting_status = 0;  // 0: none
  int draining_status = 0;   // 0: none
  // Postgres: pass when the member's role (pg_is_in_recovery) is `pg_role` (see pg_probe.h).
  std::string pg_role = "primary";
  std::string pg_user = "postgres";
  std::string pg_database = "postgres";
  // Redis: pass when the server's ROLE is `redis_role`, master or replica (see redis_probe.h).
  std::string redis_role = "master";
  // https: the TLS client side (see above); null: no client certificate, no verification.
  net::TlsFiles tls_files;
  net::SslContextPtr tls_context;
};

// The client context of an https probe with `files`: verifies the server only with files.ca,
// presents files.cert/key when set. Reads the files (blocking): build it when the config is
// loaded, not per probe. Errors name the file and OpenSSL's reason (net/tls.h).
Result<net::SslContextPtr> makeProbeTlsContext(const net::TlsFiles& files);

struct ProbeResult {
  bool ok = false;
  std::string detail;  // why it failed, or the HTTP status
  Duration latency{};
  bool promoting = false;  // http: answered promoting_status (never ok)
  bool draining = false;   // http: answered draining_status (never ok)
  // The check could not be made because this process ran out of its own resources (descriptors,
  // memory, local ports): says nothing about the backend, whose state must stay as it is.
  bool inconclusive = false;
};

boost::asio::awaitable<ProbeResult> probe(boost::asio::any_io_executor executor, ProbeSpec spec,
                                          net::Endpoint target);

}  // namespace rampart::health

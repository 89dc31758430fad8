#pragma once
// HTTP/1.1 client on the caller's asio executor, used for etcd's JSON gateway and for HTTP health
// checks. fetch() reuses idle keep-alive connections per endpoint; stream() opens a dedicated
// connection whose body arrives piece by piece (etcd's watch). Every operation finishes by its
// deadline (monotonic clock) with a response or an error naming the endpoint: Unavailable when
// the endpoint cannot be reached, DeadlineExceeded when it did not answer in time.
// https:// endpoints are spoken to over TLS with the Client's TlsFiles: the server's certificate
// must chain to `ca` (the system's CAs when empty) and name the endpoint's host (or
// `server_name`); `cert`/`key` are sent as the client certificate when set. The handshake is
// bounded by the same deadline as the rest of the operation.
// Connections per endpoint: fetch() never has more than ClientOptions::max_connections_per_host
// open to one endpoint (in use and idle together; Go's Transport.MaxConnsPerHost). A fetch that
// finds none idle and the cap reached waits, in arrival order, for one to be handed back or
// closed, until its deadline (then DeadlineExceeded). So N concurrent requests through one
// Client open at most the cap, TLS handshakes included, and an answered keep-alive connection
// goes to the next waiter (or the idle pool) instead of being closed. stream() connections are
// dedicated for the stream's life and not counted: a watch must not hold up requests.
// Not thread-safe: one Client per event loop.

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/http/types.h"
#include "net/tls.h"

namespace rampart::net::http {

// A response whose body is read incrementally. Owns its connection.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual int status() const = 0;
  // The next body bytes, waiting until `deadline`; std::nullopt once the body has ended.
  virtual boost::asio::awaitable<Result<std::optional<std::string>>> read(TimePoint deadline) = 0;
  // Closes the connection; a pending read() completes with Cancelled.
  virtual void close() = 0;
};

// One request on a fresh connection that is closed afterwards, over TLS when `tls` is set (the
// server's certificate is not verified: this is for health checks, like lvscare's default
// --health-insecure-skip-verify). Health checks use it so a pooled connection never hides a
// backend that stopped accepting.
boost::asio::awaitable<Result<Response>> fetchOnce(boost::asio::any_io_executor executor,
                                                   Endpoint endpoint, Request request,
                                                   TimePoint deadline, bool tls);

struct ClientOptions {
  size_t max_connections_per_host = 32;  // fetch() connections per endpoint; at least 1
};

class Client {
 public:
  explicit Client(boost::asio::any_io_executor executor, TlsFiles tls = {},
                  ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Whether a request may be sent again after it was written on a pooled connection that then
  // closed without an answer. The server may have applied it, so only a request whose
  // repetition changes nothing may be replayed (Go's net/http replays GET and HEAD only); a
  // create replayed could be applied twice.
  enum class Replay { Allowed, Never };
  boost::asio::awaitable<Result<Response>> fetch(Endpoint endpoint, Request request,
                                                 TimePoint deadline,
                                                 Replay replay = Replay::Allowed);
  boost::asio::awaitable<Result<std::unique_ptr<BodyStream>>> stream(Endpoint endpoint,
                                                                     Request request,
                                                                     TimePoint deadline);
  // Drops idle pooled connections to `endpoint` (after it failed: they are likely dead too).
  void forget(const Endpoint& endpoint);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::net::http

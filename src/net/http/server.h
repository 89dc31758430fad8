#pragma once
// A small HTTP/1.1 server on the caller's asio executor for Rampart's admin and REST endpoints
// (/metrics, /healthz, /readyz, the roles' APIs, the Kubernetes-compatible API). Routes match
// the path exactly (the query string is passed along in Request::target) and are plain
// synchronous functions run on the event loop: they must not block. Every other path goes to
// the fallback, if set: a coroutine that may wait (for etcd) and may stream its answer with
// chunked transfer encoding (a watch). Not thread-safe: configure before listen(), from the
// loop's thread; stats() may be read from the loop's thread at any time.
//
// Bounded by design, because anyone who reaches the port can talk to it: at most
// `max_connections` at once (more are closed at once and counted), a request's line and headers
// at most `header_limit` bytes (431), its body at most `body_limit` bytes (413), garbage and bad
// chunked bodies get a 400; each of these answers closes the connection. A connection's memory is
// thus bounded by about header_limit + body_limit. When accept() fails because this process ran
// out of descriptors or memory, the loop backs off (10 ms doubling to 1 s) instead of spinning,
// and warns once per episode.
//
// A streamed answer is bounded too: each chunk must be taken by the client within
// `write_timeout`, else the connection is cut (a watcher that stops reading costs one chunk of
// memory, not a growing queue).
//
// Upgrade (WebSocket, kubectl exec): the fallback may take the connection over with
// ResponseStream::takeConnection() (net/http/upgrade.h defines what it gets); the server then
// writes nothing more on it and forgets it, except that stop() still closes it.
//
// TLS (useTls): every connection is HTTPS; with a CA, clients must present a certificate that CA
// signed (else the handshake fails), and the certificate's common name reaches handlers as
// Request::client_identity, for authorisation by identity. A handshake must finish within 10 s.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/http/types.h"
#include "net/tls.h"

namespace rampart::net::http {

struct UpgradedConnection;  // net/http/upgrade.h (Beast types: only for the code that speaks it)

struct ServerOptions {
  size_t max_connections = 1024;
  size_t header_limit = 16 * 1024;  // request line and headers
  size_t body_limit = 64 * 1024;
  Duration idle_timeout = std::chrono::seconds(60);  // a client that sends nothing is dropped
  Duration write_timeout = std::chrono::seconds(10);  // per answer, per streamed chunk
  // Shapes the answer to a request that could not be read (400, 413 body over body_limit, 431);
  // unset: a short text/plain reason. Its headers are ignored; the connection is closed after.
  std::function<Response(int status)> refusal;
};

// The writer of a streamed answer, given to the fallback handler. begin() sends the status line
// and headers (chunked transfer encoding); write() one chunk. Both return false once the client
// is gone or stopped reading for write_timeout; the handler should then return. A handler that
// began a stream has its returned Response ignored; the server ends the body when it returns.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual boost::asio::awaitable<bool> begin(int status, std::string content_type,
                                             std::vector<std::pair<std::string, std::string>>
                                                 headers) = 0;
  virtual boost::asio::awaitable<bool> write(std::string data) = 0;
  // False once the client has closed its side (noticed even while nothing is written).
  virtual bool open() const = 0;
  // Hands the connection over to the handler, for a request that asks to Upgrade: the handler
  // writes the 101 (or an error) itself and owns the connection from then on; the handler's
  // returned Response is ignored. nullptr once an answer has begun, or where the connection
  // cannot be handed over (processForTesting).
  virtual std::shared_ptr<UpgradedConnection> takeConnection() { return nullptr; }
};

// Counters since the server was made (for the owner's metrics).
struct ServerStats {
  uint64_t active_connections = 0;
  uint64_t rejected_connections = 0;    // closed at once: over max_connections
  uint64_t accept_errors = 0;           // accept() failed for lack of descriptors or memory
  uint64_t bad_requests = 0;            // answered 400, 413 or 431
  uint64_t tls_handshake_failures = 0;  // e.g. no or an untrusted client certificate
};

class Server {
 public:
  using Handler = std::function<Response(const Request&)>;
  using AsyncHandler =
      std::function<boost::asio::awaitable<Response>(const Request&, ResponseStream&)>;

  explicit Server(boost::asio::any_io_executor executor, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void route(std::string path, Handler handler);
  // For every path without an exact route (404 when unset).
  void fallback(AsyncHandler handler);
  // Before listen().
  void setOptions(const ServerOptions& options);
  // Before listen(): serve HTTPS with `files.cert`/`files.key`; with `files.ca`, require and
  // verify client certificates against it. Errors name the file (see net/tls.h).
  Result<void> useTls(const TlsFiles& files);
  // Binds and starts accepting; port 0 picks a free port. Returns the bound endpoint.
  Result<Endpoint> listen(const Endpoint& where);
  // Stops accepting and closes open connections.
  void stop();
  ServerStats stats() const;

  // For tests and fuzzing: feeds `raw_request_bytes` as one connection's whole input (then EOF)
  // through exactly this server's parser, limits, router and handlers, on a private event loop,
  // and returns the raw bytes the server wrote back. Blocks until that connection is done.
  std::string processForTesting(std::string_view raw_request_bytes);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rampart::net::http

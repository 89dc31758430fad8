#pragma once
// A small HTTP/1.1 server on the caller's asio executor for Rampart's admin and REST endpoints
// (/metrics, /healthz, /readyz, later the roles' APIs). Handlers are plain synchronous functions
// run on the event loop: they must not block. Routes match the path exactly (the query string is
// passed along in Request::target). Not thread-safe: configure before listen(), from the loop's
// thread; stats() may be read from the loop's thread at any time.
//
// Bounded by design, because anyone who reaches the port can talk to it: at most
// `max_connections` at once (more are closed at once and counted), a request's line and headers
// at most `header_limit` bytes (431), its body at most `body_limit` bytes (413), garbage and bad
// chunked bodies get a 400; each of these answers closes the connection. A connection's memory is
// thus bounded by about header_limit + body_limit. When accept() fails because this process ran
// out of descriptors or memory, the loop backs off (10 ms doubling to 1 s) instead of spinning,
// and warns once per episode.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/http/types.h"

namespace rampart::net::http {

struct ServerOptions {
  size_t max_connections = 1024;
  size_t header_limit = 16 * 1024;  // request line and headers
  size_t body_limit = 64 * 1024;
  Duration idle_timeout = std::chrono::seconds(60);  // a client that sends nothing is dropped
};

// Counters since the server was made (for the owner's metrics).
struct ServerStats {
  uint64_t active_connections = 0;
  uint64_t rejected_connections = 0;  // closed at once: over max_connections
  uint64_t accept_errors = 0;         // accept() failed for lack of descriptors or memory
  uint64_t bad_requests = 0;          // answered 400, 413 or 431
};

class Server {
 public:
  using Handler = std::function<Response(const Request&)>;

  explicit Server(boost::asio::any_io_executor executor, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void route(std::string path, Handler handler);
  // Before listen().
  void setOptions(const ServerOptions& options);
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

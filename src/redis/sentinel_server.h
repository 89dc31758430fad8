#pragma once
// SentinelServer: the Redis Sentinel protocol on a TCP port, so Sentinel-aware clients (redis-py's
// Sentinel, Jedis, go-redis) find a group's master through `rampart redis` unchanged. It accepts
// RESP clients, parses their requests with parseRequest (resp.h, with its limits), answers them
// from the current snapshot with answerSentinel (sentinel_protocol.h), and serves pub/sub
// (sentinel_pubsub.h): when update() brings a snapshot whose master address differs from the
// previous one, it publishes "+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>" to
// the subscribers, as a real Sentinel does after a failover.
//
// Ownership and threads: the server owns its listening socket, its connections and one thread
// running their event loop; the destructor closes them all and joins the thread. start() and the
// destructor are for the owner's thread; update() and endpoint() are thread-safe (update posts
// the snapshot to the loop, so replies and events see snapshots in the order given). Nothing
// blocks the loop: answers are pure functions of the snapshot.
//
// Limits: at most `max_clients` connections (more are closed on accept, as Redis's maxclients);
// a connection whose unsent replies and messages exceed `max_output_bytes` (a subscriber that
// stopped reading) is closed, as Redis's pubsub client-output-buffer-limit does; a protocol error,
// or more than `max_input_bytes` of one unfinished request, gets Redis's "-ERR Protocol error:
// ..." and the connection is closed.

#include <cstddef>
#include <memory>

#include "base/result.h"
#include "net/endpoint.h"
#include "redis/resp.h"
#include "redis/sentinel_protocol.h"

namespace rampart::redis {

struct SentinelServerOptions {
  net::Endpoint listen{"127.0.0.1", 0};  // port 0: any free port (see endpoint())
  RequestLimits limits;
  size_t max_clients = 1000;
  size_t max_output_bytes = 8 * 1024 * 1024;
  // Unparsed input held for one connection: Sentinel requests are a few words, far below what
  // `limits` alone would let one request grow to (max_args x max_bulk_bytes).
  size_t max_input_bytes = 64 * 1024;
};

class SentinelServer {
 public:
  // Binds and starts serving `initial`. Unavailable when the address cannot be bound.
  static Result<std::unique_ptr<SentinelServer>> start(SentinelServerOptions options,
                                                       SentinelSnapshot initial);
  ~SentinelServer();
  SentinelServer(const SentinelServer&) = delete;
  SentinelServer& operator=(const SentinelServer&) = delete;

  // The address it listens on (with the port bound, when 0 was asked for).
  net::Endpoint endpoint() const;

  // The snapshot later requests are answered from; publishes +switch-master when its master
  // address changed.
  void update(SentinelSnapshot snapshot);

 private:
  struct Impl;
  explicit SentinelServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::redis

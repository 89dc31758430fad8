#pragma once
// Client: one synchronous connection to one Redis server (or Sentinel) over hiredis, for a
// worker thread, as pg::PgConn is for libpq. Every call is bounded by its timeout on the
// monotonic clock: connect() by a connect timeout, command() by one deadline for writing the
// request and reading the whole reply (the socket timeout is re-armed with what is left before
// every write and read, so a server that trickles bytes cannot stretch the call).
//
// BLOCKING: never call from an event loop. Not thread-safe: one thread uses a Client at a time;
// it may be moved between threads. The Client owns its socket and closes it when destroyed.
//
// After any I/O failure (timeout, reset, protocol error) the connection is out of step with
// the server, so the Client is broken: every later command() fails with FailedPrecondition and
// the caller connects again. An error reply (-ERR ...) is a Reply, not a failure.
//
// Errors name the endpoint and the command ("redis 127.0.0.1:6379: ROLE: timed out after
// 500ms"), never the arguments (they may be values or secrets). Codes: Unavailable (refused,
// reset, closed), DeadlineExceeded (the deadline passed), Internal (a reply hiredis could not
// parse).
//
// Out of scope: AUTH (users, passwords) and TLS. The host name is resolved by hiredis with
// getaddrinfo (not bounded by the timeout): pass IP addresses.

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "redis/reply.h"

struct redisContext;

namespace rampart::redis {

class Client {
 public:
  static Result<Client> connect(const net::Endpoint& endpoint, Duration timeout,
                                const Clock& clock = SteadyClock::instance());
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // Sends argv (binary-safe: each element is one bulk string) and waits for the reply, at most
  // `timeout` in all.
  Result<Reply> command(const std::vector<std::string>& argv, Duration timeout);

  const net::Endpoint& endpoint() const { return endpoint_; }
  bool broken() const { return broken_; }

 private:
  Client(redisContext* context, net::Endpoint endpoint, const Clock& clock);
  void close();

  redisContext* context_ = nullptr;
  net::Endpoint endpoint_;
  const Clock* clock_;
  bool broken_ = false;
};

// The command as errors name it: its first word, and for container commands (CLIENT, CONFIG,
// INFO, SENTINEL, ...) the subcommand too, upper-cased ("SENTINEL MASTERS").
std::string commandName(const std::vector<std::string>& argv);

}  // namespace rampart::redis

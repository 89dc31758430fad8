#pragma once
// The Redis role check: sends ROLE and passes a `master` check only when the server answers as a
// master, a `replica` check only when it answers as a replica (whatever its link state: a
// replica whose link is down still serves reads, as Sentinel-aware clients use it). Non-blocking
// on the caller's event loop (asio), so a frozen server never blocks it; the whole probe
// (connect, request, reply) is bounded by the timeout. The reply is read with the redis
// library's ReplyReader and ROLE parser, the same code as redis::Client (which blocks, so the
// event loop cannot use it).
//
// A master that is fenced (min-replicas-to-write set out of reach) still answers ROLE as master
// and passes: fencing is the member manager's tool for the moment before it demotes the server,
// which then answers as a replica.

#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "health/probe.h"

namespace rampart::health {

boost::asio::awaitable<ProbeResult> redisRoleProbe(boost::asio::any_io_executor executor,
                                                   std::string role, net::Endpoint target,
                                                   Duration timeout);

}  // namespace rampart::health

#pragma once
// The I/O half of pods/log: fetch the container log from the node agent (api/pod_log.h says
// where) and stream it to the API client as text/plain, as kube-apiserver's LocationStreamer
// does. The agent is spoken to over HTTPS (verified with the server's --kubelet-* TLS files),
// except on a loopback address, where plain HTTP is used (the bytes never leave the host; the
// tests' fake agent listens there).
//   - The agent must answer its headers within `connect_timeout`; a non-200 answer becomes a
//     Status with the agent's code and its body as the message.
//   - Without follow the whole log (at most 64 MiB, the HTTP client's limit) must arrive within
//     `read_timeout` and is then written; with follow the agent's chunked stream is relayed as
//     it comes, until the agent ends it, the client leaves, or `stopping()` — checked every
//     second by a watchdog that closes the agent connection — or `follow_limit`.
// Use from the server's event loop only.

#include <functional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "api/pod_log.h"
#include "base/clock.h"
#include "net/http/client.h"
#include "net/http/server.h"

namespace rampart::api {

struct LogProxyOptions {
  Duration connect_timeout = std::chrono::seconds(10);
  Duration read_timeout = std::chrono::seconds(60);
  Duration follow_limit = std::chrono::hours(24);  // a follow still ends (the client may resume)
};

// Answers the request: either an error Response (nothing streamed yet) or an empty Response
// after the stream was written to `out`. `client` must outlive the call.
boost::asio::awaitable<net::http::Response> proxyPodLog(boost::asio::any_io_executor executor,
                                                        net::http::Client& client, LogTarget target,
                                                        net::http::ResponseStream& out,
                                                        std::function<bool()> stopping,
                                                        LogProxyOptions options = {});

}  // namespace rampart::api

#pragma once
// The I/O half of pods/exec: the client's Upgrade request (WebSocket, kubectl 1.32) forwarded to
// the node agent (api/pod_exec.h says where), the agent's 101 relayed, then bytes spliced both
// ways until either side closes — kube-apiserver's UpgradeAwareHandler. The agent is spoken to
// as for pods/log: plain on a loopback address, else HTTPS verified with the --kubelet-* files
// (`kubelet_tls`: its ca verifies the agent, its cert/key are our client certificate).
//   - Forwarded: Upgrade, Connection, Sec-WebSocket-Key/-Version/-Protocol/-Extensions; the 101's
//     Upgrade, Connection, Sec-WebSocket-Accept/-Protocol/-Extensions back (the key is the
//     client's, so the agent's Accept is right for it).
//   - Bounded: connect + TLS + the agent's answer within `handshake_timeout` (else 504/503 as a
//     Status); a non-101 answer (at most 16 KiB) becomes a Status with the agent's code and
//     "unable to upgrade connection: <its body>". A session may idle (exec -it) but ends when
//     either side closes, when `stopping()` (checked every second), or after `session_limit`.
// The TLS client context is built per session from the files (three small reads on the loop; an
// exec is rare next to its own cost). Use from the server's event loop only.

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "api/pod_exec.h"
#include "base/clock.h"
#include "net/http/server.h"
#include "net/tls.h"

namespace rampart::api {

struct UpgradeProxyOptions {
  Duration handshake_timeout = std::chrono::seconds(10);
  Duration session_limit = std::chrono::hours(24);
  // Loopback agents are spoken to in plain HTTP (as pods/log does); false: TLS everywhere (tests
  // of the TLS path, which has no other address to use).
  bool plain_on_loopback = true;
};

// Answers `request` (the client's, with its Upgrade headers): an error Response (nothing sent
// yet: the server writes it), or an empty Response once the connection was taken over from `out`
// and spliced to its end. `request` and `out` must outlive the call (the HTTP server awaits it).
boost::asio::awaitable<net::http::Response> proxyUpgrade(
    boost::asio::any_io_executor executor, net::TlsFiles kubelet_tls, ExecTarget target,
    const net::http::Request& request, net::http::ResponseStream& out,
    std::function<bool()> stopping, UpgradeProxyOptions options = {});

}  // namespace rampart::api

#pragma once
// Probe runners: one run of one probe handler, as the kubelet's probers do it, on the caller's
// asio executor. Every run finishes within the probe's timeout (on the monotonic clock) and
// always yields an outcome — an unreachable target, a timeout or a bad answer is a failure with
// the reason in `output`, never an error or an exception.
//   httpGet:   a fresh connection (never pooled), GET path with the probe's headers (a "Host"
//              header overrides the host; User-Agent "kube-probe/1.32" and Accept "*/*" unless
//              set); 200-399 passes. Redirects are not followed (a 3xx passes, as the answer is
//              below 400). HTTPS without certificate verification, as the kubelet.
//   tcpSocket: the TCP handshake completes.
//   exec:      the injected ExecFn runs the command (the agent runs it inside the container's
//              namespaces); exit code 0 passes. The ExecFn must kill the command when `timeout`
//              passes and then return DeadlineExceeded.
// Thread-safety: each call runs on the executor it is given; no shared state.

#include <functional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agent/probe/spec.h"
#include "agent/probe/state.h"
#include "base/clock.h"
#include "base/result.h"

namespace rampart::agent::probe {

// Runs argv (bounded by timeout: killed after it, then DeadlineExceeded); the exit code, or an
// error when it could not be run. Must not block the event loop.
using ExecFn = std::function<boost::asio::awaitable<Result<int>>(std::vector<std::string> argv,
                                                                 Duration timeout)>;

boost::asio::awaitable<ProbeOutcome> runHttpGet(boost::asio::any_io_executor executor,
                                                HttpGetAction action, std::string pod_ip,
                                                Duration timeout);
boost::asio::awaitable<ProbeOutcome> runTcpSocket(boost::asio::any_io_executor executor,
                                                  TcpSocketAction action, std::string pod_ip,
                                                  Duration timeout);
// `exec` empty: a failure ("no exec runner").
boost::asio::awaitable<ProbeOutcome> runExec(ExecAction action, ExecFn exec, Duration timeout);

// Dispatches on spec.handler with spec.timeout.
boost::asio::awaitable<ProbeOutcome> runProbe(boost::asio::any_io_executor executor, ProbeSpec spec,
                                              std::string pod_ip, ExecFn exec);

}  // namespace rampart::agent::probe

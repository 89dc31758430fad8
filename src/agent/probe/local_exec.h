#pragma once
// localExec: an ExecFn that runs the command as a child of this process, in its own session
// (so its whole process group can be killed), on the host's namespaces — for tests and for
// simulated nodes; the real agent runs probe commands inside the container instead. The child
// dies with us (PR_SET_PDEATHSIG); its output goes to /dev/null. Waiting polls the child with
// WNOHANG on a timer (every 5 ms), so the event loop is never blocked; when `timeout` passes,
// the process group gets SIGKILL, the child is reaped, and the result is DeadlineExceeded.
// Stateless; the returned function may be used from any one event loop at a time.

#include <sys/types.h>

#include <functional>

#include <boost/asio/any_io_executor.hpp>

#include "agent/probe/runner.h"

namespace rampart::agent::probe {

ExecFn localExec(boost::asio::any_io_executor executor);

// The same waiting and killing around any way of starting the command as a child of this
// process (the agent's: inside a container, runtime/enter.h).
using SpawnFn = std::function<Result<pid_t>(std::vector<std::string> argv)>;
ExecFn execWith(boost::asio::any_io_executor executor, SpawnFn spawn);

}  // namespace rampart::agent::probe

#pragma once
// The shim: the process that supervises one container (`rampart agent-shim <dir> <sync-fd>`,
// started by Runtime in its own session). It reads <dir>/spec.json, forks the container and
// sets it up in the child (cgroups, private mount namespace with bind mounts, setns into the
// network namespace, working dir, setgid/setuid, exact env, PR_SET_PDEATHSIG(SIGKILL) so that a
// killed shim takes its container along), reports "ok <pid>" or "error <text>" on `sync_fd` and
// closes it, writes the container's stdout/stderr to its CRI log, and when the container's main
// process has exited kills what is left in its cgroup, writes <dir>/status.json and exits 0.
// Single-threaded; blocking.

#include <string>

namespace rampart::agent::runtime {

int runShim(const std::string& dir, int sync_fd);

}  // namespace rampart::agent::runtime

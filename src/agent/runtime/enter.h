#pragma once
// Runs another process INSIDE a running container (exec probes, `kubectl exec`): in the network
// and mount namespaces of `target` (setns to /proc/<target>/ns/{net,mnt}), in its cgroups, with
// its uid/gid, environment and working directory unless overridden. The caller passes the
// descriptors for stdin/stdout/stderr (-1: /dev/null) and owns the returned child: it reaps it
// (waitpid or a pidfd) and may signal it. The child is not killed when the caller dies.
// Blocking only for fork/exec (returns once the command has been exec'd or has failed, with the
// failure as the error); safe to call from a multithreaded process (the child only makes
// async-signal-safe calls). Thread-safe.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace rampart::agent::runtime {

struct EnterOptions {
  pid_t target = 0;               // a process of the container (ContainerState::pid)
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in the PATH of `env`
  std::vector<std::pair<std::string, std::string>> env;  // empty: the target's environment
  std::string working_dir;                               // "": the target's working directory
  std::optional<uint32_t> uid, gid;                      // unset: the target's
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
};

// NotFound when `target` is gone, InvalidArgument for an empty argv, Unavailable (with the
// failing step and errno text) when the set-up or exec failed.
Result<pid_t> spawnInContainer(const EnterOptions& options);

}  // namespace rampart::agent::runtime

#pragma once
// A Spawn (agent/nodeapi/node_api_server.h) that runs the command on this host, not in a
// container: for tests and simulated nodes. fork + exec (argv[0] looked up in PATH) with the
// given descriptors as 0/1/2 and every other descriptor closed; a terminal on stdin becomes the
// child's controlling terminal in a new session (so `tty` and job control work); the child dies
// with this process (PR_SET_PDEATHSIG). Thread-safe.

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/nodeapi/node_api_server.h"

namespace rampart::agent::nodeapi {

Result<pid_t> spawnLocal(const ContainerRef& container, std::vector<std::string> argv, int in_fd,
                         int out_fd, int err_fd);

}  // namespace rampart::agent::nodeapi

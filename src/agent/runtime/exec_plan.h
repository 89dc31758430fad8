#pragma once
// Internal to the runtime: an exec prepared before fork(), so that the child between fork and
// exec only makes async-signal-safe calls (the agent is multithreaded). Not a public interface.

#include <string>
#include <utility>
#include <vector>

namespace rampart::agent::runtime {

struct ExecPlan {
  ExecPlan() = default;
  ExecPlan(const ExecPlan&) = delete;  // the views would point into the original
  ExecPlan& operator=(const ExecPlan&) = delete;
  std::vector<std::string> candidates;  // full paths to try, in PATH order
  std::vector<std::string> argv_storage, env_storage;
  std::vector<char*> argv, envp;  // null-terminated views of the storage
};

// argv[0] containing '/' is taken as is; otherwise every directory of the PATH in `env` (or the
// default "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") is a candidate.
// Filled in place: the char* views point into the strings, so the plan must not be moved after.
void prepareExec(ExecPlan& plan, const std::vector<std::string>& argv,
                 const std::vector<std::pair<std::string, std::string>>& env);

// In the child: writes "<step>: <error text>" to `error_fd` and _exit(127)s.
[[noreturn]] void childFail(int error_fd, const char* step, int err);
// In the child: execve()s each candidate; on failure reports the most telling error.
[[noreturn]] void execPlanned(const ExecPlan& plan, int error_fd);

}  // namespace rampart::agent::runtime

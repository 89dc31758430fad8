#pragma once
// Child processes: start, signal, and reap them by PID. Rampart only ever signals processes it
// started itself. A child started with die_with_parent gets PR_SET_PDEATHSIG(SIGKILL), so a test
// or lab that crashes cannot leave it behind (keepalived's and Sentinel's rule); when it also
// changes user, the signal is set after dropping privileges, because a credential change clears
// it.
// Thread-safe (no shared state).

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::runtime {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string log_file;           // stdout and stderr go here (appended); empty: inherit
  std::string stdin_file;         // empty: /dev/null
  bool die_with_parent = true;
  bool new_session = false;       // setsid(): survives the caller's terminal and process group
  std::string user;               // run as this user (e.g. postgres); needs root
  // A network namespace to run in (e.g. "/run/netns/lab-m1"); needs root. Only the network
  // namespace changes (setns), unlike `ip netns exec`, which also gives the process a mount
  // namespace of its own, so mounts it makes (a pod's namespace under /run/netns) would be
  // invisible to everyone else.
  std::string netns;
  // Listening sockets handed over in systemd's socket-activation protocol: they become fds 3,
  // 4, ... of the child, with LISTEN_FDS=<count> and LISTEN_PID=<child pid> in its environment
  // (see socket_activation.h). A socket keeps the network namespace it was made in, so a child
  // in a lab namespace can serve on the caller's loopback.
  std::vector<int> listen_fds;
};

Result<pid_t> spawn(const SpawnOptions& options);

struct CommandResult {
  int exit_code = -1;  // -1: did not finish in time, or killed by a signal
  std::string output;  // stdout and stderr, trailing newlines removed
};

// Runs `argv` to completion, at most `timeout` (then it is killed), feeding it `stdin_text` and
// capturing its output. Blocking: for start-up, reload and shutdown work, not for event loops.
CommandResult runCommand(std::vector<std::string> argv, Duration timeout,
                         const std::string& stdin_text = "");

// Waits up to `timeout` for `pid` to exit; its exit status, or std::nullopt if still running.
std::optional<int> waitExit(pid_t pid, Duration timeout);

// SIGTERM, then SIGKILL after `grace`; reaps it if it is our child. Returns true if it is gone.
bool terminate(pid_t pid, Duration grace);

bool isAlive(pid_t pid);

// The command line of `pid`, arguments separated by spaces ("" when it is gone). Used to check
// that a PID read from a state file still names the process we started before signalling it.
std::string commandLine(pid_t pid);

// The absolute path of the running executable (/proc/self/exe).
std::string selfExecutable();

// The PIDs whose parent is `parent` (from /proc/*/stat), at the time of the call.
std::vector<pid_t> childrenOf(pid_t parent);

// The parent PID from one /proc/<pid>/stat line ("42 (postgres: walsender) S 41 ..."); the
// command may contain spaces and parentheses, so it is parsed after the last ')'.
std::optional<pid_t> parentFromStat(const std::string& stat_line);

// Sends `signal` to `pid` only if it is still a child of `parent`: through a pidfd opened before
// the parent is checked, so a PID recycled meanwhile is never signalled. False if it was not sent.
bool signalChild(pid_t parent, pid_t pid, int signal);

}  // namespace rampart::runtime

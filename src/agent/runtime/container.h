#pragma once
// The container runtime's plain types: what the agent asks to run (ContainerConfig) and what it
// learns back (ContainerState). A container has no image: it runs `argv` from the node's file
// system in its own cgroups (cgroup v1: cpu, cpuacct, memory, pids, freezer where mounted), an
// optional network namespace and a private mount namespace holding its bind mounts. Values only,
// no I/O, no asio; copyable and thread-compatible.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rampart::agent::runtime {

// The same type as api::WallTime (api/table.h), without that header's weight.
using WallTime = std::chrono::system_clock::time_point;

struct Mount {
  std::string source;  // a path on the node (file or directory)
  std::string target;  // where it appears inside the container; created when missing
  bool read_only = false;
};

// 0 = not set.
struct Resources {
  int64_t memory_limit_bytes = 0;  // memory.limit_in_bytes (and memsw, so swap cannot hide it)
  int64_t cpu_request_milli = 0;   // cpu.shares = max(2, milli * 1024 / 1000), as the kubelet
  int64_t cpu_limit_milli = 0;     // cpu.cfs_quota_us = milli * 100000 / 1000 per 100 ms period
  int64_t pids_limit = 0;          // pids.max
};

struct ContainerConfig {
  std::string pod_uid, pod_namespace, pod_name;
  std::string name;               // container name
  int attempt = 0;                // restart count when started (one log file per attempt)
  std::vector<std::string> argv;  // command + args, already expanded ($(VAR)) by the caller
  std::vector<std::pair<std::string, std::string>> env;  // exactly the container's environment
  std::string working_dir;                               // "" → "/"
  std::optional<uint32_t> run_as_user, run_as_group;
  std::string netns_path;     // "" → the agent's own network namespace; else setns()
  std::vector<Mount> mounts;  // bind mounts in a private mount namespace of the container
  // Non-empty for a container that must never run twice: its shim refuses to start it, and
  // kills it, once the deadline in this file has passed (fence.h).
  std::string fence_file;
  Resources resources;
};

// Reasons of a terminated container, as Kubernetes reports them.
inline constexpr const char* kReasonCompleted = "Completed";    // exit code 0
inline constexpr const char* kReasonError = "Error";            // any other exit
inline constexpr const char* kReasonOomKilled = "OOMKilled";    // SIGKILLed by the memory cgroup
inline constexpr const char* kReasonStartError = "StartError";  // exec (or set-up) failed
// The supervising shim vanished without writing the exit status (e.g. SIGKILLed, node reboot);
// the kubelet reports the same reason with exit code 137.
inline constexpr const char* kReasonStatusUnknown = "ContainerStatusUnknown";
inline constexpr const char* kReasonFenced = "Fenced";  // killed when the node's fence lapsed

struct ContainerState {
  std::string pod_uid, name;
  int attempt = 0;
  pid_t pid = 0;  // the container's main process (as seen from the agent)
  bool running = false;
  WallTime started_at{};
  std::optional<WallTime> finished_at;
  int exit_code = 0;   // 128+signal when killed by a signal (as Kubernetes reports)
  std::string reason;  // exited: "Completed" (0), "Error", "OOMKilled"; "StartError" if exec failed
  std::string message;  // e.g. exec error text
};

}  // namespace rampart::agent::runtime

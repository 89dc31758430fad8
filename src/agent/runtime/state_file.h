#pragma once
// The runtime's per-container records (runtime.h lists the files) and their JSON encoding, and
// the pure rules that turn a wait status into Kubernetes' exit code and reason. Encoding and
// decoding are pure; writeFileAtomically is the one I/O helper (tmp file, fsync, rename).
// Thread-safe (no shared state).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/runtime/container.h"
#include "base/result.h"

namespace rampart::agent::runtime {

// What the shim needs to run one container; written by the agent (spec.json).
struct ShimSpec {
  ContainerConfig config;
  std::string log_path;
  int64_t log_max_bytes = 10 << 20;
  int log_max_files = 5;
  std::string cgroup_root = "/sys/fs/cgroup";  // the container's cgroups (cgroup.h) are
  std::string cgroup_name = "rampart";         // <root>/<controller>/<name>/pod<uid>/<container>
};

// Written by the shim once the container has been exec'd (started.json).
struct StartedRecord {
  pid_t shim_pid = 0;
  uint64_t shim_start_ticks = 0;  // /proc/<pid>/stat field 22: proves the PID's identity
  pid_t container_pid = 0;
  uint64_t container_start_ticks = 0;
  WallTime started_at{};
};

// Written by the shim when the container has ended or failed to start (status.json).
struct ExitStatus {
  int exit_code = 0;  // 128+signal when killed
  int signal = 0;     // 0 unless killed by a signal
  bool oom_killed = false;
  WallTime finished_at{};
  std::string reason;  // kReasonCompleted, kReasonError, kReasonOomKilled, kReasonStartError
  std::string message;
};

std::string encodeShimSpec(const ShimSpec& spec);
Result<ShimSpec> decodeShimSpec(std::string_view text);
std::string encodeStarted(const StartedRecord& record);
Result<StartedRecord> decodeStarted(std::string_view text);
// shim.json, written by the agent right after spawning the shim: only shim_pid and
// shim_start_ticks are meaningful.
std::string encodeShimRecord(const StartedRecord& record);
Result<StartedRecord> decodeShimRecord(std::string_view text);
std::string encodeExitStatus(const ExitStatus& status);
Result<ExitStatus> decodeExitStatus(std::string_view text);

// From waitpid's status: exit code (128+signal when signalled) and reason. A SIGKILL while the
// memory cgroup's OOM kill counter rose (`oom_kills_rose`) is "OOMKilled" (exit code 137).
ExitStatus exitStatusFromWait(int wait_status, bool oom_kills_rose, WallTime finished_at);
// A container that could not be started: exit code 128 (containerd's), reason "StartError".
ExitStatus startErrorStatus(std::string message, WallTime finished_at);

// The start time in clock ticks from one /proc/<pid>/stat line (field 22, after the last ')').
Result<uint64_t> startTicksFromStat(std::string_view stat_line);
// The same for a live process; NotFound when it is gone.
Result<uint64_t> processStartTicks(pid_t pid);

Result<std::string> readWholeFile(const std::string& path);  // NotFound when absent
// Writes `<path>.tmp`, fsyncs it, renames it over `path`: readers see all or nothing. `mode`
// 0600 for records holding a container's environment (it may carry Secret values).
Result<void> writeFileAtomically(const std::string& path, std::string_view content,
                                 mode_t mode = 0644);

}  // namespace rampart::agent::runtime

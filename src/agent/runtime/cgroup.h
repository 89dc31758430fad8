#pragma once
// Per-container cgroups on cgroup v1 (one hierarchy per controller, as on this kernel): the pure
// arithmetic from Kubernetes resources to control-file values, and ContainerCgroups, the I/O on
// /sys/fs/cgroup/<controller>/<cgroup_name>/pod<uid>/<container>. Controllers that are not
// mounted are skipped (the caller warns once). Blocking file I/O; not thread-safe.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "agent/runtime/container.h"
#include "base/result.h"

namespace rampart::agent::runtime {

// The controllers a container gets, in the order they are created.
inline const std::vector<std::string> kContainerControllers = {"cpu", "cpuacct", "memory", "pids",
                                                               "freezer"};

inline constexpr int64_t kCpuPeriodUs = 100000;  // the kubelet's CFS period: 100 ms
inline constexpr int64_t kMinCpuShares = 2;      // the kernel's minimum, also "no request"
inline constexpr int64_t kMaxCpuShares = 262144;
inline constexpr int64_t kMinCpuQuotaUs = 1000;  // the kernel refuses less than 1 ms

// cpu.shares from a request: milli · 1024 / 1000, within [2, 262144] (kubelet MilliCPUToShares).
int64_t cpuSharesFromMilli(int64_t request_milli);
// cpu.cfs_quota_us from a limit: milli · 100000 / 1000, at least 1000; -1 (unlimited) when 0.
int64_t cpuQuotaFromMilli(int64_t limit_milli);

struct CgroupWrite {
  std::string controller;
  std::string file;
  std::string value;
};
// The control-file writes for `resources`, in the order they must happen (memsw after memory).
// Unset values are written as "unlimited" so that a reused cgroup loses an earlier limit.
std::vector<CgroupWrite> cgroupWrites(const Resources& resources);

// The oom_kill counter from memory.oom_control's text ("oom_kill 3"); 0 if absent.
int64_t oomKillsFromControl(const std::string& oom_control);

class ContainerCgroups {
 public:
  // The paths, without touching the file system.
  ContainerCgroups(std::string root, std::string cgroup_name, std::string pod_uid,
                   std::string container);

  // Creates the directories of every mounted controller and writes the limits. Returns the
  // controllers that are not mounted (skipped).
  Result<std::vector<std::string>> create(const Resources& resources);
  // Existing directories, one per mounted controller.
  std::vector<std::string> dirs() const;
  std::string dir(const std::string& controller) const;  // "" when not mounted
  std::string memoryDir() const { return dir("memory"); }

  // The PIDs in the container (from the first mounted controller's cgroup.procs).
  std::vector<pid_t> procs() const;
  // Signals every process in the container; each PID through a pidfd opened before checking that
  // it is still in this cgroup. Returns how many were signalled.
  int signalAll(int signal) const;
  int64_t oomKills() const;  // the memory cgroup's oom_kill counter (0 without memory)
  // rmdir of every directory (empty cgroups only); missing ones are fine.
  Result<void> remove() const;
  // The pod's directories (<controller>/<cgroup_name>/pod<uid>), removed when empty.
  Result<void> removePod() const;

 private:
  std::string root_, cgroup_name_, pod_uid_, container_;
};

// True when `pid`'s /proc/<pid>/cgroup lists `relative_path` (e.g. "/rampart/podX/c") for a
// hierarchy including `controller`.
bool processInCgroup(pid_t pid, const std::string& controller, const std::string& relative_path);

}  // namespace rampart::agent::runtime

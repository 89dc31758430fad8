#pragma once
// Runtime: the agent's container runtime. Each container runs under a small supervising process,
// the shim (`rampart agent-shim`, shim.h), started in its own session so that the agent may
// restart, crash or be SIGKILLed without its containers noticing (conmon's pattern). The shim
// sets the container up (cgroups, mount namespace and bind mounts, network namespace, working
// dir, uid/gid, exact env), writes its stdout/stderr to a CRI-format log (cri_log.h) and, when
// it exits, its exit status to the state directory; then the shim exits too.
//
// Files (a record per container, so that recover() can re-adopt after an agent restart):
//   <state_dir>/<pod_uid>/<name>/spec.json     written by the agent before the shim starts (0600)
//   <state_dir>/<pod_uid>/<name>/shim.json     the shim's PID and start time, right after spawn
//   <state_dir>/<pod_uid>/<name>/started.json  the shim's and container's PIDs and start times
//   <state_dir>/<pod_uid>/<name>/status.json   the exit status (written once, atomically)
//   <log_dir>/<pod_uid>/<name>/<attempt>.log  (a function of its arguments alone, so the logs
//     API finds it without the runtime); rotated at log_max_bytes to <…>.log.1 (newest) …
//     <…>.log.<log_max_files-1>
//   cgroups: /sys/fs/cgroup/<controller>/<cgroup_name>/pod<uid>/<name> per controller.
// A PID read back from a file is only signalled through a pidfd after checking the process's
// start time (or its cgroup), so a recycled PID is never signalled.
//
// One entry per (pod_uid, name): a new attempt replaces the exited previous one (its log file
// stays for `--previous`). All members run on the executor given at construction (one event loop;
// not thread-safe). Blocking work is limited to small file writes and a posix_spawn per start.
// Destroying the Runtime leaves the containers running (recover() picks them up again).
// Containers join only their own cpu/cpuacct/memory/pids/freezer cgroups; in the other
// hierarchies (name=systemd, the unified one) they stay where the agent is, so a systemd unit
// running the agent needs KillMode=process (as containerd's unit has) or a restart of the unit
// kills its containers.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agent/runtime/container.h"
#include "base/clock.h"
#include "base/result.h"

namespace rampart::agent::runtime {

struct RuntimeOptions {
  std::string state_dir;
  std::string log_dir;
  std::string cgroup_name = "rampart";
  int64_t log_max_bytes = 10 << 20;
  int log_max_files = 5;
  std::string shim_executable;                        // "" → /proc/self/exe (the rampart binary)
  std::string cgroup_root = "/sys/fs/cgroup";         // where the v1 controllers are mounted
  Duration start_timeout = std::chrono::seconds(10);  // shim spawned → container exec'd or failed
};

class Runtime {
 public:
  Runtime(boost::asio::any_io_executor executor, RuntimeOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // After an agent restart: adopts the containers recorded in state_dir. A live shim (verified by
  // its start time) is watched again; one that ended while no agent watched is reported with the
  // exit status it wrote; one that vanished without a status is reported exited with
  // "ContainerStatusUnknown"/137 and whatever is left in its cgroup is killed. A shim that was
  // still starting its container is given start_timeout to report (blocking), else killed.
  // Call once, before start(). Returns every recovered container.
  Result<std::vector<ContainerState>> recover();

  // Starts a container; completes once it has been exec'd (running) or has failed to start (a
  // state with reason "StartError", exit code 128 and the error as message — a value, not an
  // error). Errors: InvalidArgument (empty argv, names), FailedPrecondition (this container is
  // running), Unavailable/Internal (files, cgroups, the shim), DeadlineExceeded (start_timeout).
  boost::asio::awaitable<Result<ContainerState>> start(ContainerConfig config);

  // SIGTERM to the main process, up to `grace`, then SIGKILL to every process in the container's
  // cgroup; completes when every process of the container is gone (and the exit is recorded).
  // NotFound for an unknown container; ok for one already exited.
  boost::asio::awaitable<Result<void>> stop(std::string pod_uid, std::string name, Duration grace);

  std::vector<ContainerState> containers() const;  // snapshot, running and exited (until removed)
  std::optional<ContainerState> container(const std::string& pod_uid,
                                          const std::string& name) const;

  // Called on the executor after a container's state changed on its own (it exited).
  void setOnChange(std::function<void()> callback);

  // Kills the container if it still runs (no grace), then removes its cgroups and state (its
  // logs stay until removePod). NotFound for an unknown container.
  boost::asio::awaitable<Result<void>> removeContainer(std::string pod_uid, std::string name);

  // Kills what is still running of the pod (no grace: stop() first for a graceful end), then
  // removes its cgroups, state and logs.
  boost::asio::awaitable<Result<void>> removePod(std::string pod_uid);

  std::string logPath(const std::string& pod_uid, const std::string& name, int attempt) const;
  std::string podLogDir(const std::string& pod_uid) const;  // <log_dir>/<pod_uid>

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared with the watchers, which outlive nothing but a wait
};

}  // namespace rampart::agent::runtime

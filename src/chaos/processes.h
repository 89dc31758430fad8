#pragma once
// The processes a fault may signal, and a guard that resumes what it paused. The harness only
// signals PIDs named by the cluster file, the database server found through them (the
// postmaster named by <data_dir>/postmaster.pid, the redis-server INFO server names), and that
// server's children found through /proc/*/stat. Before signalling it checks the PID is alive and,
// for the database servers and etcd, that its command name matches (a stale postmaster.pid may
// name a recycled PID).
// Thread-safe (no shared state), except a Pause object, which belongs to one thread.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace rampart::chaos {

// The first line of <data_dir>/postmaster.pid, checked to be a live "postgres" process.
Result<pid_t> postmasterPid(const std::string& data_dir);

// The command name (/proc/<pid>/comm), or "" if the process is gone.
std::string commandName(pid_t pid);

// Sends `signal` to `pid` after checking it is alive (and, if `expected_command` is given, that
// its command name is that). `what` names it in errors ("m1's postmaster").
Result<void> signalProcess(pid_t pid, int signal, const std::string& what,
                           const std::string& expected_command = "");

// RAII: every process stopped through it gets SIGCONT when resumeAll() is called or the guard
// goes, whichever is first, so no error path leaves a process frozen.
class Pause {
 public:
  Pause() = default;
  ~Pause() { resumeAll(); }
  Pause(const Pause&) = delete;
  Pause& operator=(const Pause&) = delete;

  // SIGSTOPs `pid` (checked as signalProcess does) and remembers it.
  Result<void> stop(pid_t pid, const std::string& what, const std::string& expected_command = "");
  // SIGCONTs everything stopped, last stopped first.
  void resumeAll();
  const std::vector<pid_t>& stopped() const { return stopped_; }

 private:
  std::vector<pid_t> stopped_;
};

}  // namespace rampart::chaos

#include "chaos/processes.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/process.h"

namespace rampart::chaos {

std::string commandName(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

Result<pid_t> postmasterPid(const std::string& data_dir) {
  std::string path = data_dir + "/postmaster.pid";
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::NotFound, "cannot read ", path, ": ", std::strerror(errno),
                " (is PostgreSQL running?)");
  }
  std::string line;
  std::getline(in, line);
  char* end = nullptr;
  long pid = std::strtol(line.c_str(), &end, 10);
  if (line.empty() || *end != '\0' || pid <= 1) {
    return fail(ErrorCode::InvalidArgument, path, ": first line is not a PID: '", line, "'");
  }
  if (!runtime::isAlive(static_cast<pid_t>(pid)) ||
      commandName(static_cast<pid_t>(pid)) != "postgres") {
    return fail(ErrorCode::NotFound, path, ": PID ", line,
                " is not a running postgres (stale file?)");
  }
  return static_cast<pid_t>(pid);
}

Result<void> signalProcess(pid_t pid, int signal, const std::string& what,
                           const std::string& expected_command) {
  // Never a process group, init, or ourselves.
  if (pid <= 1 || pid == ::getpid()) {
    return fail(ErrorCode::InvalidArgument, what, ": refusing to signal PID ", std::to_string(pid));
  }
  if (!runtime::isAlive(pid)) {
    return fail(ErrorCode::NotFound, what, ": PID ", std::to_string(pid), " is not running");
  }
  if (!expected_command.empty()) {
    auto comm = commandName(pid);
    if (comm != expected_command) {
      return fail(ErrorCode::FailedPrecondition, what, ": PID ", std::to_string(pid), " is '", comm,
                  "', not '", expected_command, "' (recycled PID?)");
    }
  }
  if (::kill(pid, signal) != 0) {
    return fail(errno == ESRCH ? ErrorCode::NotFound : ErrorCode::Internal, what, ": kill(",
                std::to_string(pid), ", ", strsignal(signal), "): ", std::strerror(errno));
  }
  return ok();
}

Result<void> Pause::stop(pid_t pid, const std::string& what, const std::string& expected_command) {
  auto r = signalProcess(pid, SIGSTOP, what, expected_command);
  if (r) {
    stopped_.push_back(pid);
  }
  return r;
}

void Pause::resumeAll() {
  for (auto it = stopped_.rbegin(); it != stopped_.rend(); ++it) {
    ::kill(*it, SIGCONT);
  }
  stopped_.clear();
}

}  // namespace rampart::chaos

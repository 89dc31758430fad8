#include "agent/runtime/enter.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/runtime/exec_plan.h"
#include "agent/runtime/state_file.h"

namespace rampart::agent::runtime {
namespace {

std::vector<std::pair<std::string, std::string>> environOf(pid_t pid) {
  std::vector<std::pair<std::string, std::string>> env;
  auto text = readWholeFile("/proc/" + std::to_string(pid) + "/environ");
  if (!text) {
    return env;
  }
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\0', start);
    if (end == std::string::npos) {
      end = text->size();
    }
    std::string kv = text->substr(start, end - start);
    auto eq = kv.find('=');
    if (eq != std::string::npos) {
      env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    start = end + 1;
  }
  return env;
}

// The real uid or gid from /proc/<pid>/status ("Uid:\t65534\t65534\t65534\t65534").
std::optional<uint32_t> idOf(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream fields(line.substr(key.size() + 1));
      uint32_t id = 0;
      if (fields >> id) {
        return id;
      }
    }
  }
  return std::nullopt;
}

// The cgroup.procs files of the target's v1 hierarchies ("4:memory:/rampart/podX/c").
std::vector<std::string> cgroupProcsOf(pid_t pid) {
  std::vector<std::string> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    auto c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos || c2 == c1 + 1) {
      continue;  // the v2 line ("0::/") is not managed here
    }
    std::string list = line.substr(c1 + 1, c2 - c1 - 1);
    std::string first = list.substr(0, list.find(','));
    if (first.rfind("name=", 0) == 0) {
      first = first.substr(5);
    }
    std::string procs = "/sys/fs/cgroup/" + first + line.substr(c2 + 1) + "/cgroup.procs";
    std::error_code ec;
    if (std::filesystem::exists(procs, ec)) {
      out.push_back(procs);
    }
  }
  return out;
}

bool exited(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

Result<pid_t> spawnInContainer(const EnterOptions& options) {
  if (options.argv.empty()) {
    return fail(ErrorCode::InvalidArgument, "spawnInContainer: empty argv");
  }
  pid_t target = options.target;
  int pidfd = target > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, target, 0)) : -1;
  if (pidfd < 0) {
    return fail(ErrorCode::NotFound, "container process ", std::to_string(target), " is gone");
  }
  std::string proc = "/proc/" + std::to_string(target);
  auto env = options.env.empty() ? environOf(target) : options.env;
  std::string working_dir = options.working_dir;
  if (working_dir.empty()) {
    std::error_code ec;
    working_dir = std::filesystem::read_symlink(proc + "/cwd", ec).string();
    if (ec || working_dir.empty()) {
      working_dir = "/";
    }
  }
  auto uid = options.uid ? options.uid : idOf(target, "Uid");
  auto gid = options.gid ? options.gid : idOf(target, "Gid");
  auto cgroup_procs = cgroupProcsOf(target);
  int net = ::open((proc + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
  int mnt = ::open((proc + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
  // Everything above was read from /proc/<target>: still the target's if it has not exited
  // since the pidfd was opened (then the PID cannot have been reused).
  bool gone = net < 0 || mnt < 0 || exited(pidfd);
  ::close(pidfd);
  if (gone) {
    if (net >= 0) {
      ::close(net);
    }
    if (mnt >= 0) {
      ::close(mnt);
    }
    return fail(ErrorCode::NotFound, "container process ", std::to_string(target), " is gone");
  }
  ExecPlan plan;
  prepareExec(plan, options.argv, env);
  int errors[2];
  if (::pipe2(errors, O_CLOEXEC) != 0) {
    ::close(net);
    ::close(mnt);
    return fail(ErrorCode::Unavailable, "pipe: ", std::strerror(errno));
  }
  pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls until exec: the caller may be multithreaded.
    int e = errors[1];
    for (const auto& procs : cgroup_procs) {
      int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) {  // "0": the writing process
        childFail(e, procs.c_str(), errno);
      }
      ::close(fd);
    }
    if (::setns(net, CLONE_NEWNET) != 0) {
      childFail(e, "setns net", errno);
    }
    if (::setns(mnt, CLONE_NEWNS) != 0) {
      childFail(e, "setns mnt", errno);
    }
    if (::chdir(working_dir.c_str()) != 0) {
      childFail(e, working_dir.c_str(), errno);
    }
    if ((uid || gid) && ::setgroups(0, nullptr) != 0) {
      childFail(e, "setgroups", errno);
    }
    if (gid && ::setgid(*gid) != 0) {
      childFail(e, "setgid", errno);
    }
    if (uid && ::setuid(*uid) != 0) {
      childFail(e, "setuid", errno);
    }
    int null_fd = ::open("/dev/null", O_RDWR);
    int in = options.stdin_fd >= 0 ? options.stdin_fd : null_fd;
    int out = options.stdout_fd >= 0 ? options.stdout_fd : null_fd;
    int err = options.stderr_fd >= 0 ? options.stderr_fd : null_fd;
    if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
        ::dup2(err, STDERR_FILENO) < 0) {
      childFail(e, "stdio", errno);
    }
    for (int sig = 1; sig < NSIG; ++sig) {
      ::signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    execPlanned(plan, e);
  }
  int fork_errno = errno;
  ::close(errors[1]);
  ::close(net);
  ::close(mnt);
  if (child < 0) {
    ::close(errors[0]);
    return fail(ErrorCode::Unavailable, "fork: ", std::strerror(fork_errno));
  }
  std::string failure;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(errors[0], buf, sizeof buf);
    if (n > 0) {
      failure.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(errors[0]);
  if (!failure.empty()) {
    int status = 0;
    ::waitpid(child, &status, 0);
    return fail(ErrorCode::Unavailable, "enter container of ", std::to_string(target), ": ",
                failure);
  }
  return child;
}

}  // namespace rampart::agent::runtime

#include "agent/nodeapi/local_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rampart::agent::nodeapi {

Result<pid_t> spawnLocal(const ContainerRef& /*container*/, std::vector<std::string> argv,
                         int in_fd, int out_fd, int err_fd) {
  if (argv.empty()) {
    return fail(ErrorCode::InvalidArgument, "no command to run");
  }
  // Everything the child needs, built before fork (after it only async-signal-safe calls).
  std::vector<char*> args;
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  bool terminal = ::isatty(in_fd) == 1;
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    return fail(ErrorCode::Unavailable, "fork: ", std::strerror(errno));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    // A new session either way: the agent can kill the whole group when the client leaves.
    ::setsid();
    // dup2 onto 0/1/2 in an order that survives one of them already being 0/1/2.
    int fds[3] = {::fcntl(in_fd, F_DUPFD_CLOEXEC, 3), ::fcntl(out_fd, F_DUPFD_CLOEXEC, 3),
                  ::fcntl(err_fd, F_DUPFD_CLOEXEC, 3)};
    for (int i = 0; i < 3; ++i) {
      if (fds[i] < 0 || ::dup2(fds[i], i) < 0) {
        ::_exit(127);
      }
    }
    if (terminal) {
      ::ioctl(0, TIOCSCTTY, 0);
    }
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);  // not found or not executable, as a shell says
  }
  return pid;
}

}  // namespace rampart::agent::nodeapi

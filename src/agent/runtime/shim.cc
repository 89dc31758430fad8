#include "agent/runtime/shim.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "agent/runtime/cgroup.h"
#include "agent/runtime/cri_log.h"
#include "agent/runtime/exec_plan.h"
#include "agent/runtime/fence.h"
#include "agent/runtime/state_file.h"
#include "base/log.h"

namespace rampart::agent::runtime {
namespace {

WallTime wallNow() { return std::chrono::system_clock::now(); }

// mkdir -p, for a bind-mount target or a working directory (in the child: syscalls only on
// a buffer prepared by the caller).
int makeDirs(char* path) {
  for (char* p = path + 1; *p; ++p) {
    if (*p == '/') {
      *p = '\0';
      if (::mkdir(path, 0755) != 0 && errno != EEXIST) {
        *p = '/';
        return -1;
      }
      *p = '/';
    }
  }
  return ::mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

struct ChildPlan {
  pid_t shim = 0;
  std::vector<std::string> cgroup_procs;  // <dir>/cgroup.procs to join
  struct BindMount {
    std::string source, target;
    bool read_only;
    bool source_is_dir;
  };
  std::vector<BindMount> mounts;
  std::string netns_path;
  std::string working_dir;
  std::optional<uint32_t> uid, gid;
  int stdout_fd = -1, stderr_fd = -1, error_fd = -1;
  ExecPlan exec;
};

// The container's process between fork and exec. The shim is single-threaded, yet only
// syscalls are made here, so the same rules hold as in a multithreaded parent.
[[noreturn]] void runChild(ChildPlan& p) {
  int e = p.error_fd;
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != p.shim) {
    childFail(e, "shim gone before start", ESRCH);
  }
  // Joined before exec, so that the limits bind from the first instruction.
  for (const auto& procs : p.cgroup_procs) {
    // "0" names the writing process (cgroup v1).
    int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) {
      childFail(e, procs.c_str(), errno);
    }
    ::close(fd);
  }
  // A private mount namespace: the bind mounts are the container's alone, and nothing mounted
  // here propagates back to the node.
  if (::unshare(CLONE_NEWNS) != 0) {
    childFail(e, "unshare mount namespace", errno);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    childFail(e, "make / private", errno);
  }
  for (auto& m : p.mounts) {
    if (m.source_is_dir) {
      if (makeDirs(m.target.data()) != 0) {
        childFail(e, m.target.c_str(), errno);
      }
    } else {
      // A file is bind-mounted onto a file: its directory, then an empty file.
      auto slash = m.target.rfind('/');
      if (slash != std::string::npos && slash > 0) {
        m.target[slash] = '\0';
        int r = makeDirs(m.target.data());
        m.target[slash] = '/';
        if (r != 0) {
          childFail(e, m.target.c_str(), errno);
        }
      }
      int fd = ::open(m.target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::close(fd);
      }
    }
    if (::mount(m.source.c_str(), m.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      childFail(e, m.target.c_str(), errno);
    }
    if (m.read_only && ::mount(nullptr, m.target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY,
                               nullptr) != 0) {
      childFail(e, m.target.c_str(), errno);
    }
  }
  if (!p.netns_path.empty()) {
    int fd = ::open(p.netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      childFail(e, p.netns_path.c_str(), errno);
    }
    ::close(fd);
  }
  // The kubelet's runtime creates a missing working directory.
  if (makeDirs(p.working_dir.data()) != 0 || ::chdir(p.working_dir.c_str()) != 0) {
    childFail(e, p.working_dir.c_str(), errno);
  }
  if (p.gid || p.uid) {
    if (::setgroups(0, nullptr) != 0) {
      childFail(e, "setgroups", errno);
    }
  }
  if (p.gid && ::setgid(*p.gid) != 0) {
    childFail(e, "setgid", errno);
  }
  if (p.uid && ::setuid(*p.uid) != 0) {
    childFail(e, "setuid", errno);
  }
  // A credential change clears the parent-death signal: set it again, after the last change.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != p.shim) {
    childFail(e, "shim gone before start", ESRCH);
  }
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(p.stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(p.stderr_fd, STDERR_FILENO) < 0) {
    childFail(e, "stdio", errno);
  }
  // Ignored signals stay ignored across exec: give the container the defaults.
  for (int sig = 1; sig < NSIG; ++sig) {
    ::signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  execPlanned(p.exec, e);
}

void report(int& sync_fd, const std::string& message) {
  if (sync_fd < 0) {
    return;
  }
  // The agent may be gone (EPIPE, SIGPIPE is ignored): the files say the same.
  [[maybe_unused]] auto n = ::write(sync_fd, message.data(), message.size());
  ::close(sync_fd);
  sync_fd = -1;
}

int startFailed(const std::string& dir, int& sync_fd, const std::string& message) {
  auto status = startErrorStatus(message, wallNow());
  auto written = writeFileAtomically(dir + "/status.json", encodeExitStatus(status));
  if (!written) {
    log::get("shim")->error("cannot write status: {}", written.error().message);
  }
  report(sync_fd, "error " + message);
  return 0;
}

std::string readAvailable(int fd, bool& eof) {
  char buf[65536];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
    eof = true;
    return "";
  }
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace

int runShim(const std::string& dir, int sync_fd) {
  auto logger = log::get("shim");
  ::signal(SIGPIPE, SIG_IGN);
  // Nothing of the agent stays open here (a listening socket held by a shim would keep the
  // restarted agent from binding its port).
  if (sync_fd > 3) {
    ::syscall(SYS_close_range, 3u, static_cast<unsigned>(sync_fd - 1), 0u);
  }
  ::syscall(SYS_close_range, static_cast<unsigned>(sync_fd + 1), ~0u, 0u);
  ::fcntl(sync_fd, F_SETFD, FD_CLOEXEC);

  auto text = readWholeFile(dir + "/spec.json");
  if (!text) {
    return startFailed(dir, sync_fd, text.error().message);
  }
  auto spec = decodeShimSpec(*text);
  if (!spec) {
    return startFailed(dir, sync_fd, spec.error().message);
  }
  const ContainerConfig& config = spec->config;
  CriLogWriter log(spec->log_path, spec->log_max_bytes, spec->log_max_files);
  if (auto opened = log.open(); !opened) {
    return startFailed(dir, sync_fd, opened.error().message);
  }
  ContainerCgroups cgroups(spec->cgroup_root, spec->cgroup_name, config.pod_uid, config.name);
  int64_t oom_before = cgroups.oomKills();
  // A container that must never run twice starts only while the node's fence holds (fence.h).
  const bool fenced_container = !config.fence_file.empty();
  auto fence_holds = [&] {
    return fenceHolds(config.fence_file, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now().time_since_epoch())
                                             .count());
  };
  if (fenced_container && !fence_holds()) {
    return startFailed(dir, sync_fd,
                       "the node's fencing deadline has passed (its Lease is not being renewed): "
                       "a container that must not run twice does not start");
  }

  int out[2], err[2], errors[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
      ::pipe2(errors, O_CLOEXEC) != 0) {
    return startFailed(dir, sync_fd, std::string("pipe: ") + std::strerror(errno));
  }
  ChildPlan plan;
  plan.shim = ::getpid();
  for (const auto& d : cgroups.dirs()) {
    plan.cgroup_procs.push_back(d + "/cgroup.procs");
  }
  for (const auto& m : config.mounts) {
    struct stat st {};
    bool is_dir = ::stat(m.source.c_str(), &st) != 0 || S_ISDIR(st.st_mode);
    plan.mounts.push_back({m.source, m.target, m.read_only, is_dir});
  }
  plan.netns_path = config.netns_path;
  plan.working_dir = config.working_dir.empty() ? "/" : config.working_dir;
  plan.uid = config.run_as_user;
  plan.gid = config.run_as_group;
  plan.stdout_fd = out[1];
  plan.stderr_fd = err[1];
  plan.error_fd = errors[1];
  prepareExec(plan.exec, config.argv, config.env);

  pid_t child = ::fork();
  if (child < 0) {
    return startFailed(dir, sync_fd, std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    runChild(plan);
  }
  ::close(out[1]);
  ::close(err[1]);
  ::close(errors[1]);
  // The error pipe closes on a successful exec (O_CLOEXEC) or carries the failing step.
  std::string failure;
  for (bool eof = false; !eof;) {
    failure += readAvailable(errors[0], eof);
  }
  ::close(errors[0]);
  if (!failure.empty()) {
    int status = 0;
    ::waitpid(child, &status, 0);
    return startFailed(dir, sync_fd, failure);
  }

  StartedRecord started;
  started.shim_pid = ::getpid();
  started.shim_start_ticks = processStartTicks(started.shim_pid).value_or(0);
  started.container_pid = child;
  started.container_start_ticks = processStartTicks(child).value_or(0);
  started.started_at = wallNow();
  if (auto w = writeFileAtomically(dir + "/started.json", encodeStarted(started)); !w) {
    logger->error("cannot record the start: {}", w.error().message);
  }
  report(sync_fd, "ok " + std::to_string(child));

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  CriLineSplitter split_out, split_err;
  auto writer = [&](LogStream stream) {
    return [&log, &logger, stream](std::string_view line, bool partial) {
      if (auto w = log.write(formatCriLine(wallNow(), stream, partial, line)); !w) {
        logger->warn("log write failed: {}", w.error().message);
      }
    };
  };
  auto emit_out = writer(LogStream::Stdout);
  auto emit_err = writer(LogStream::Stderr);
  bool out_open = true, err_open = true;
  bool fenced = false;  // killed because the node's fence lapsed
  std::optional<int> wait_status;
  // After the main process has exited, whatever still holds the pipes is killed (below); the
  // pipes are then drained for at most this long.
  auto drain_deadline = std::chrono::steady_clock::time_point::max();
  while ((out_open || err_open || !wait_status) &&
         std::chrono::steady_clock::now() < drain_deadline) {
    struct pollfd fds[3];
    nfds_t n = 0;
    int out_i = -1, err_i = -1, pid_i = -1;
    if (out_open) {
      out_i = static_cast<int>(n);
      fds[n++] = {out[0], POLLIN, 0};
    }
    if (err_open) {
      err_i = static_cast<int>(n);
      fds[n++] = {err[0], POLLIN, 0};
    }
    if (!wait_status && pidfd >= 0) {
      pid_i = static_cast<int>(n);
      fds[n++] = {pidfd, POLLIN, 0};
    }
    int idle_ms = pidfd >= 0 ? -1 : 100;
    if (fenced_container && !fenced) {
      idle_ms = static_cast<int>(kFencePoll.count());
    }
    int ready = ::poll(fds, n, wait_status ? 100 : idle_ms);
    if (ready < 0 && errno != EINTR) {
      break;
    }
    if (fenced_container && !fenced && !wait_status && !fence_holds()) {
      // The agent stopped extending the deadline: it is dead, hung or cut off from the API, and
      // the controller may start this pod elsewhere once the fence has passed. Kill it now.
      logger->warn("fence lapsed: killing container {} of pod {}", config.name, config.pod_uid);
      fenced = true;
      cgroups.signalAll(SIGKILL);
      ::kill(child, SIGKILL);
    }
    if (out_i >= 0 && fds[out_i].revents) {
      bool eof = false;
      split_out.feed(readAvailable(out[0], eof), emit_out);
      out_open = !eof;
    }
    if (err_i >= 0 && fds[err_i].revents) {
      bool eof = false;
      split_err.feed(readAvailable(err[0], eof), emit_err);
      err_open = !eof;
    }
    if (!wait_status && (pidfd < 0 || (pid_i >= 0 && fds[pid_i].revents))) {
      int status = 0;
      if (::waitpid(child, &status, pidfd < 0 ? WNOHANG : 0) == child) {
        wait_status = status;
        // Kubernetes ends a container with its main process: what it left behind goes too.
        for (int round = 0; round < 100 && !cgroups.procs().empty(); ++round) {
          cgroups.signalAll(SIGKILL);
          ::usleep(20000);
        }
        drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      }
    }
  }
  if (!wait_status) {
    int status = 0;
    ::waitpid(child, &status, 0);
    wait_status = status;
  }
  split_out.finish(emit_out);
  split_err.finish(emit_err);
  bool oom = cgroups.oomKills() > oom_before;
  auto status = exitStatusFromWait(*wait_status, oom, wallNow());
  if (fenced) {
    status.reason = kReasonFenced;
    status.message = "killed on this node: its fencing deadline passed without a Lease renewal";
  }
  if (auto w = writeFileAtomically(dir + "/status.json", encodeExitStatus(status)); !w) {
    logger->error("cannot write status: {}", w.error().message);
    return 1;
  }
  return 0;
}

}  // namespace rampart::agent::runtime

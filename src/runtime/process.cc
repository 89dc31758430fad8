#include "runtime/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

namespace rampart::runtime {
namespace fs = std::filesystem;

Result<pid_t> spawn(const SpawnOptions& options) {
  if (options.argv.empty()) {
    return fail(ErrorCode::InvalidArgument, "spawn: empty argv");
  }
  std::vector<char*> argv;
  for (const auto& a : options.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  int log_fd = -1;
  if (!options.log_file.empty()) {
    log_fd = ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      return fail(ErrorCode::Unavailable, "open ", options.log_file, ": ", std::strerror(errno));
    }
  }
  uid_t uid = 0;
  gid_t gid = 0;
  if (!options.user.empty()) {
    // Looked up here: getpwnam is not async-signal-safe, so not in the child.
    struct passwd* pw = ::getpwnam(options.user.c_str());
    if (!pw) {
      if (log_fd >= 0) {
        ::close(log_fd);
      }
      return fail(ErrorCode::InvalidArgument, "spawn: no such user '", options.user, "'");
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  int netns_fd = -1;
  if (!options.netns.empty()) {
    netns_fd = ::open(options.netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) {
      if (log_fd >= 0) {
        ::close(log_fd);
      }
      return fail(ErrorCode::Unavailable, "spawn: network namespace ", options.netns, ": ",
                  std::strerror(errno));
    }
  }
  // The environment is built here (setenv is not async-signal-safe); the child writes its own
  // PID into the LISTEN_PID slot with plain stores.
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  char* listen_pid_slot = nullptr;
  if (!options.listen_fds.empty()) {
    for (char** e = environ; *e; ++e) {
      std::string_view entry(*e);
      if (!entry.starts_with("LISTEN_FDS=") && !entry.starts_with("LISTEN_PID=") &&
          !entry.starts_with("LISTEN_FDNAMES=")) {
        env_storage.emplace_back(entry);
      }
    }
    env_storage.push_back("LISTEN_FDS=" + std::to_string(options.listen_fds.size()));
    env_storage.push_back("LISTEN_PID=" + std::string(20, '\0'));
    for (auto& e : env_storage) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    listen_pid_slot = env_storage.back().data() + std::strlen("LISTEN_PID=");
  }
  auto close_parent_fds = [&] {
    if (log_fd >= 0) {
      ::close(log_fd);
    }
    if (netns_fd >= 0) {
      ::close(netns_fd);
    }
  };
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    close_parent_fds();
    return fail(ErrorCode::Internal, "fork: ", std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) {
      ::_exit(126);
    }
    if (!options.user.empty()) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
        ::_exit(126);
      }
    }
    if (options.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(127);  // the parent died before prctl took effect
      }
    }
    if (options.new_session) {
      ::setsid();
    }
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    int input = ::open(options.stdin_file.empty() ? "/dev/null" : options.stdin_file.c_str(),
                       O_RDONLY);
    if (input >= 0) {
      ::dup2(input, STDIN_FILENO);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (listen_pid_slot) {
      // Move the sockets above every target slot first, so that dup2 onto 3, 4, ... never
      // overwrites a socket not yet moved.
      constexpr int kHigh = 1000;
      int n = static_cast<int>(options.listen_fds.size());
      for (int i = 0; i < n; ++i) {
        if (::dup2(options.listen_fds[i], kHigh + i) < 0) {
          ::_exit(126);
        }
      }
      for (int i = 0; i < n; ++i) {
        ::dup2(kHigh + i, 3 + i);  // dup2 clears FD_CLOEXEC on the new descriptor
        ::close(kHigh + i);
      }
      char digits[20];
      int len = 0;
      for (pid_t self = ::getpid(); self > 0 && len < 20; self /= 10) {
        digits[len++] = static_cast<char>('0' + self % 10);
      }
      for (int i = 0; i < len; ++i) {
        listen_pid_slot[i] = digits[len - 1 - i];
      }
      listen_pid_slot[len] = '\0';
      ::execvpe(argv[0], argv.data(), envp.data());
    } else {
      ::execvp(argv[0], argv.data());
    }
    ::_exit(127);
  }
  close_parent_fds();
  return pid;
}

CommandResult runCommand(std::vector<std::string> argv, Duration timeout,
                         const std::string& stdin_text) {
  char out_path[] = "/tmp/rampart-cmd-out-XXXXXX";
  char in_path[] = "/tmp/rampart-cmd-in-XXXXXX";
  int out_fd = ::mkstemp(out_path);
  int in_fd = ::mkstemp(in_path);
  CommandResult result;
  if (out_fd < 0 || in_fd < 0) {
    result.output = "cannot create temporary files";
    return result;
  }
  ::close(out_fd);
  [[maybe_unused]] auto written = ::write(in_fd, stdin_text.data(), stdin_text.size());
  ::close(in_fd);
  auto pid = spawn(SpawnOptions{std::move(argv), out_path, in_path});
  if (pid) {
    auto status = waitExit(*pid, timeout);
    if (!status) {
      terminate(*pid, std::chrono::seconds(1));
    } else if (WIFEXITED(*status)) {
      result.exit_code = WEXITSTATUS(*status);
    }
  }
  if (FILE* f = std::fopen(out_path, "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
      result.output.append(buf, n);
    }
    std::fclose(f);
  }
  ::unlink(out_path);
  ::unlink(in_path);
  while (!result.output.empty() && result.output.back() == '\n') {
    result.output.pop_back();
  }
  return result;
}

std::optional<int> waitExit(pid_t pid, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return status;
    }
    if (r < 0 && errno == ECHILD) {
      // Not our child (e.g. started by an earlier `rampart etcd up`): poll for its existence.
      if (!isAlive(pid)) {
        return 0;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool terminate(pid_t pid, Duration grace) {
  if (pid <= 0) {
    return true;
  }
  if (::kill(pid, SIGTERM) != 0 && errno == ESRCH) {
    waitExit(pid, Duration::zero());
    return true;
  }
  if (waitExit(pid, grace)) {
    return true;
  }
  ::kill(pid, SIGKILL);
  return waitExit(pid, std::chrono::seconds(5)).has_value();
}

bool isAlive(pid_t pid) {
  if (::kill(pid, 0) != 0) {
    return errno == EPERM;
  }
  // A zombie child still answers kill(0); treat it as gone.
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) {
    return false;
  }
  char state = 0;
  int ignored_pid = 0;
  char comm[256];
  bool zombie = std::fscanf(f, "%d %255s %c", &ignored_pid, comm, &state) == 3 && state == 'Z';
  std::fclose(f);
  return !zombie;
}

std::string selfExecutable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    return "rampart";
  }
  return std::string(buf, static_cast<size_t>(n));
}

std::string commandLine(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  std::replace(s.begin(), s.end(), '\0', ' ');
  return s;
}

std::optional<pid_t> parentFromStat(const std::string& stat_line) {
  auto close = stat_line.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream rest(stat_line.substr(close + 1));
  std::string state;
  long ppid = 0;
  if (!(rest >> state >> ppid)) {
    return std::nullopt;
  }
  return static_cast<pid_t>(ppid);
}

namespace {
std::optional<pid_t> parentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return std::nullopt;  // gone
  }
  return parentFromStat(line);
}
}  // namespace

std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> out;
  // One read per thread of the parent where the kernel offers it (CONFIG_PROC_CHILDREN), else
  // every /proc/<pid>/stat: hundreds of reads, milliseconds on a busy machine.
  std::string task_dir = "/proc/" + std::to_string(parent) + "/task/";
  if (fs::exists(task_dir + std::to_string(parent) + "/children")) {
    std::error_code ec;
    for (const auto& thread : fs::directory_iterator(task_dir, ec)) {
      std::ifstream list(thread.path() / "children");
      for (long pid = 0; list >> pid;) {
        out.push_back(static_cast<pid_t>(pid));
      }
    }
    return out;
  }
  DIR* proc = ::opendir("/proc");
  if (!proc) {
    return out;
  }
  while (struct dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) {
      continue;
    }
    if (parentOf(static_cast<pid_t>(pid)) == parent) {
      out.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(proc);
  return out;
}

bool signalChild(pid_t parent, pid_t pid, int signal) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    return false;  // gone
  }
  // The pidfd pins the process: if `pid` still has this parent now, the signal reaches it.
  bool sent =
      parentOf(pid) == parent && ::syscall(SYS_pidfd_send_signal, fd, signal, nullptr, 0) == 0;
  ::close(fd);
  return sent;
}

}  // namespace rampart::runtime

#include "agent/runtime/runtime.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/runtime/cgroup.h"
#include "agent/runtime/state_file.h"
#include "base/log.h"
#include "runtime/process.h"

extern char** environ;

namespace rampart::agent::runtime {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr Duration kPoll = 10ms;               // how often stop() looks whether the shim is done
constexpr Duration kKillTimeout = 10s;         // SIGKILL sent → every process gone, at most
constexpr Duration kCgroupRemoveTimeout = 5s;  // killed processes leave their cgroup, at most

WallTime wallNow() { return std::chrono::system_clock::now(); }

// Names become path components: nothing that could climb out of the state directory.
bool safeComponent(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Sends `signal` to `pid` only if it is still the process that started at `start_ticks`: through
// a pidfd opened before the check, so a recycled PID is never signalled.
bool signalVerified(pid_t pid, uint64_t start_ticks, int signal) {
  if (pid <= 0) {
    return false;
  }
  int fd = pidfdOpen(pid);
  if (fd < 0) {
    return false;
  }
  auto ticks = processStartTicks(pid);
  bool sent = ticks && *ticks == start_ticks &&
              ::syscall(SYS_pidfd_send_signal, fd, signal, nullptr, 0) == 0;
  ::close(fd);
  return sent;
}

}  // namespace

struct Entry {
  ContainerConfig config;
  ContainerState state;
  std::string dir;
  pid_t shim_pid = 0;
  uint64_t container_start_ticks = 0;
  std::unique_ptr<asio::posix::stream_descriptor> shim_fd;  // pidfd of the shim while watched
};

struct Runtime::Impl {
  asio::any_io_executor executor;
  RuntimeOptions options;
  std::function<void()> on_change;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Entry>> entries;
  bool closed = false;
  bool warned_controllers = false;
  std::shared_ptr<spdlog::logger> log = log::get("runtime");

  std::string containerDir(const std::string& pod_uid, const std::string& name) const {
    return options.state_dir + "/" + pod_uid + "/" + name;
  }
  ContainerCgroups cgroups(const std::string& pod_uid, const std::string& name) const {
    return ContainerCgroups(options.cgroup_root, options.cgroup_name, pod_uid, name);
  }

  // The shim has exited (or vanished): the container's final state from status.json.
  void finish(Entry& e) {
    bool was_running = e.state.running;
    auto text = readWholeFile(e.dir + "/status.json");
    auto status = text ? decodeExitStatus(*text) : Result<ExitStatus>(fail(text.error()));
    if (!status) {
      // The shim died without a word (SIGKILL, crash): its container went with it
      // (PDEATHSIG); what the container forked may not have.
      auto cg = cgroups(e.config.pod_uid, e.config.name);
      cg.signalAll(SIGKILL);
      ExitStatus unknown;
      unknown.exit_code = 137;
      unknown.reason = kReasonStatusUnknown;
      unknown.message = "the container's supervisor exited without recording its status";
      unknown.finished_at = wallNow();
      // Recorded, so that a later recover() reports the same.
      (void)writeFileAtomically(e.dir + "/status.json", encodeExitStatus(unknown));
      status = unknown;
    }
    e.state.running = false;
    e.state.exit_code = status->exit_code;
    e.state.reason = status->reason;
    e.state.message = status->message;
    e.state.finished_at = status->finished_at;
    if (was_running) {
      log->info("container exited pod={} container={} attempt={} exit_code={} reason={}",
                e.config.pod_uid, e.config.name, e.config.attempt, e.state.exit_code,
                e.state.reason);
    }
  }

  void watch(const std::shared_ptr<Entry>& entry, int pidfd) {
    entry->shim_fd = std::make_unique<asio::posix::stream_descriptor>(executor, pidfd);
    asio::co_spawn(executor, watcher(self.lock(), entry), asio::detached);
  }

  static asio::awaitable<void> watcher(std::shared_ptr<Impl> impl, std::shared_ptr<Entry> entry) {
    if (!impl) {
      co_return;
    }
    auto* fd = entry->shim_fd.get();
    auto [ec] = co_await fd->async_wait(asio::posix::stream_descriptor::wait_read,
                                        asio::as_tuple(asio::use_awaitable));
    if (impl->closed || ec == asio::error::operation_aborted || entry->shim_fd.get() != fd) {
      co_return;
    }
    // Reaps the shim when it is our child (started by this process); ECHILD otherwise.
    siginfo_t info{};
    ::waitid(static_cast<idtype_t>(3 /* P_PIDFD */), static_cast<id_t>(fd->native_handle()), &info,
             WEXITED | WNOHANG);
    entry->shim_fd.reset();
    bool was_running = entry->state.running;
    impl->finish(*entry);
    if (was_running && impl->on_change) {
      impl->on_change();
    }
  }

  std::weak_ptr<Impl> self;
};

Runtime::Runtime(asio::any_io_executor executor, RuntimeOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->executor = std::move(executor);
  impl_->options = std::move(options);
  if (impl_->options.shim_executable.empty()) {
    impl_->options.shim_executable = rampart::runtime::selfExecutable();
  }
  impl_->self = impl_;
}

Runtime::~Runtime() {
  // The containers keep running; only the watching stops. The pidfds go now, while their
  // io_context surely exists (a watcher still pending wakes with operation_aborted and returns).
  impl_->closed = true;
  for (auto& [key, entry] : impl_->entries) {
    entry->shim_fd.reset();
  }
}

std::string Runtime::podLogDir(const std::string& pod_uid) const {
  return impl_->options.log_dir + "/" + pod_uid;
}

std::string Runtime::logPath(const std::string& pod_uid, const std::string& name,
                             int attempt) const {
  return podLogDir(pod_uid) + "/" + name + "/" + std::to_string(attempt) + ".log";
}

void Runtime::setOnChange(std::function<void()> callback) {
  impl_->on_change = std::move(callback);
}

std::vector<ContainerState> Runtime::containers() const {
  std::vector<ContainerState> out;
  for (const auto& [key, entry] : impl_->entries) {
    out.push_back(entry->state);
  }
  return out;
}

std::optional<ContainerState> Runtime::container(const std::string& pod_uid,
                                                 const std::string& name) const {
  auto it = impl_->entries.find({pod_uid, name});
  if (it == impl_->entries.end()) {
    return std::nullopt;
  }
  return it->second->state;
}

Result<std::vector<ContainerState>> Runtime::recover() {
  std::vector<ContainerState> out;
  std::error_code ec;
  if (!fs::exists(impl_->options.state_dir, ec)) {
    return out;
  }
  for (const auto& pod : fs::directory_iterator(impl_->options.state_dir, ec)) {
    std::error_code pod_ec;
    for (const auto& cdir : fs::directory_iterator(pod.path(), pod_ec)) {
      std::string dir = cdir.path().string();
      auto text = readWholeFile(dir + "/spec.json");
      auto spec = text ? decodeShimSpec(*text) : Result<ShimSpec>(fail(text.error()));
      if (!spec) {
        impl_->log->warn("skipping container state {}: {}", dir, spec.error().message);
        continue;
      }
      auto entry = std::make_shared<Entry>();
      entry->config = spec->config;
      entry->dir = dir;
      entry->state.pod_uid = spec->config.pod_uid;
      entry->state.name = spec->config.name;
      entry->state.attempt = spec->config.attempt;
      auto read_started = [&dir] {
        auto text = readWholeFile(dir + "/started.json");
        return text ? decodeStarted(*text) : Result<StartedRecord>(fail(text.error()));
      };
      auto started = read_started();
      if (!started && !fs::exists(dir + "/status.json", ec)) {
        // The agent went away while this container was starting: a live shim reports within the
        // start timeout; one that does not is ended, with whatever it started.
        auto text = readWholeFile(dir + "/shim.json");
        auto shim = text ? decodeShimRecord(*text) : Result<StartedRecord>(fail(text.error()));
        int shim_fd = shim ? pidfdOpen(shim->shim_pid) : -1;
        auto ticks = shim ? processStartTicks(shim->shim_pid) : Result<uint64_t>(0);
        if (shim_fd >= 0 && ticks && *ticks == shim->shim_start_ticks) {
          auto deadline = std::chrono::steady_clock::now() + impl_->options.start_timeout;
          while (!(started = read_started()) && !fs::exists(dir + "/status.json", ec) &&
                 std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(kPoll);
          }
          if (!started && !fs::exists(dir + "/status.json", ec)) {
            ::syscall(SYS_pidfd_send_signal, shim_fd, SIGKILL, nullptr, 0);
            impl_->cgroups(spec->config.pod_uid, spec->config.name).signalAll(SIGKILL);
          }
        }
        if (shim_fd >= 0) {
          ::close(shim_fd);
        }
      }
      int pidfd = -1;
      if (started) {
        entry->shim_pid = started->shim_pid;
        entry->container_start_ticks = started->container_start_ticks;
        entry->state.pid = started->container_pid;
        entry->state.started_at = started->started_at;
        // Opened before the identity check: if the start time matches now, the pidfd names our
        // shim for good, even if it exits and its PID is reused a moment later.
        pidfd = pidfdOpen(started->shim_pid);
        auto ticks = processStartTicks(started->shim_pid);
        if (pidfd >= 0 && !(ticks && *ticks == started->shim_start_ticks)) {
          ::close(pidfd);
          pidfd = -1;
        }
      }
      if (pidfd >= 0) {
        entry->state.running = !fs::exists(dir + "/status.json", ec);
        if (entry->state.running) {
          impl_->log->info("re-adopted container pod={} container={} pid={}", entry->config.pod_uid,
                           entry->config.name, entry->state.pid);
        } else {
          impl_->finish(*entry);
        }
        impl_->watch(entry, pidfd);  // also reaps a shim that is our own zombie
      } else {
        impl_->finish(*entry);
      }
      impl_->entries[{entry->config.pod_uid, entry->config.name}] = entry;
      out.push_back(entry->state);
    }
  }
  return out;
}

asio::awaitable<Result<ContainerState>> Runtime::start(ContainerConfig config) {
  auto impl = impl_;
  if (config.argv.empty()) {
    co_return fail(ErrorCode::InvalidArgument, "container ", config.name, ": empty command");
  }
  if (!safeComponent(config.pod_uid) || !safeComponent(config.name)) {
    co_return fail(ErrorCode::InvalidArgument, "bad pod uid or container name '", config.pod_uid,
                   "/", config.name, "'");
  }
  auto key = std::make_pair(config.pod_uid, config.name);
  if (auto it = impl->entries.find(key); it != impl->entries.end() && it->second->state.running) {
    co_return fail(ErrorCode::FailedPrecondition, "container ", config.pod_uid, "/", config.name,
                   " is running");
  }
  std::string dir = impl->containerDir(config.pod_uid, config.name);
  std::string log_path = logPath(config.pod_uid, config.name, config.attempt);
  std::error_code ec;
  fs::remove_all(dir, ec);  // the previous attempt's records (its log stays)
  fs::create_directories(dir, ec);
  if (!ec) {
    fs::create_directories(fs::path(log_path).parent_path(), ec);
  }
  if (ec) {
    co_return fail(ErrorCode::Unavailable, "create ", dir, " or the log directory: ", ec.message());
  }
  auto cgroups = impl->cgroups(config.pod_uid, config.name);
  auto missing = cgroups.create(config.resources);
  if (!missing) {
    co_return fail(missing.error());
  }
  if (!missing->empty() && !impl->warned_controllers) {
    impl->warned_controllers = true;
    std::string list;
    for (const auto& c : *missing) {
      list += (list.empty() ? "" : ",") + c;
    }
    impl->log->warn("cgroup controllers not mounted, their limits are not enforced: {}", list);
  }
  ShimSpec spec;
  spec.config = config;
  spec.log_path = log_path;
  spec.log_max_bytes = impl->options.log_max_bytes;
  spec.log_max_files = impl->options.log_max_files;
  spec.cgroup_root = impl->options.cgroup_root;
  spec.cgroup_name = impl->options.cgroup_name;
  // 0600: the environment may hold Secret values.
  if (auto w = writeFileAtomically(dir + "/spec.json", encodeShimSpec(spec), 0600); !w) {
    co_return fail(w.error());
  }

  // The shim reports on fd 3 of its own; kept above 3 here so that the dup2 below is a real
  // copy (dup2 onto itself would keep O_CLOEXEC).
  int sync[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) {
    co_return fail(ErrorCode::Unavailable, "pipe: ", std::strerror(errno));
  }
  int sync_write = ::fcntl(sync[1], F_DUPFD_CLOEXEC, 10);
  ::close(sync[1]);
  std::string shim_log = dir + "/shim.log";
  std::vector<std::string> args = {impl->options.shim_executable, "agent-shim", dir, "3"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, 1, shim_log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
  ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
  ::posix_spawn_file_actions_adddup2(&actions, sync_write, 3);
  ::posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  // Its own session: the agent's process group and terminal signals do not reach it, and no
  // PDEATHSIG: the shim outlives the agent (the point of it).
  ::posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t shim = 0;
  int spawned = ::posix_spawn(&shim, argv[0], &actions, &attr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  ::close(sync_write);
  if (spawned != 0) {
    ::close(sync[0]);
    co_return fail(ErrorCode::Unavailable, "spawn ", args[0], ": ", std::strerror(spawned));
  }
  // Our child: its PID cannot be reused before we reap it, so this pidfd is the shim's.
  int pidfd = pidfdOpen(shim);
  // Recorded at once, so that an agent that dies before the shim reports can still find it.
  StartedRecord shim_record;
  shim_record.shim_pid = shim;
  shim_record.shim_start_ticks = processStartTicks(shim).value_or(0);
  (void)writeFileAtomically(dir + "/shim.json", encodeShimRecord(shim_record));

  std::string report;
  {
    // Shared with the timer's handler, which may run after this block (a cancel cannot recall
    // a handler that has already been queued).
    auto reader = std::make_shared<asio::posix::stream_descriptor>(impl->executor, sync[0]);
    auto timed_out = std::make_shared<bool>(false);
    asio::steady_timer timer(impl->executor, impl->options.start_timeout);
    auto on_timeout = [reader, timed_out](boost::system::error_code timer_ec) {
      if (!timer_ec && reader->is_open()) {
        *timed_out = true;
        boost::system::error_code ignored;
        reader->cancel(ignored);
      }
    };
    timer.async_wait(on_timeout);
    auto [read_ec, n] = co_await asio::async_read(*reader, asio::dynamic_buffer(report),
                                                  asio::as_tuple(asio::use_awaitable));
    (void)read_ec;
    (void)n;
    timer.cancel();
    boost::system::error_code ignored;
    reader->close(ignored);
    if (*timed_out) {
      if (pidfd >= 0) {
        ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
      }
      cgroups.signalAll(SIGKILL);
      int status = 0;
      ::waitpid(shim, &status, 0);  // SIGKILLed just now: immediate
      if (pidfd >= 0) {
        ::close(pidfd);
      }
      co_return fail(ErrorCode::DeadlineExceeded, "container ", config.pod_uid, "/", config.name,
                     " did not start within the start timeout");
    }
  }

  auto entry = std::make_shared<Entry>();
  entry->config = config;
  entry->dir = dir;
  entry->shim_pid = shim;
  entry->state.pod_uid = config.pod_uid;
  entry->state.name = config.name;
  entry->state.attempt = config.attempt;
  entry->state.started_at = wallNow();
  if (report.rfind("ok ", 0) == 0) {
    auto text = readWholeFile(dir + "/started.json");
    auto started = text ? decodeStarted(*text) : Result<StartedRecord>(fail(text.error()));
    if (started) {
      entry->state.pid = started->container_pid;
      entry->state.started_at = started->started_at;
      entry->container_start_ticks = started->container_start_ticks;
    } else {
      entry->state.pid = static_cast<pid_t>(std::atoi(report.c_str() + 3));
    }
    entry->state.running = true;
  } else if (report.rfind("error ", 0) == 0) {
    impl->finish(*entry);
  } else {
    // No report: the shim died before it could say anything (its log says why).
    int status = 0;
    ::waitpid(shim, &status, 0);
    if (pidfd >= 0) {
      ::close(pidfd);
    }
    auto log_text = readWholeFile(shim_log).value_or("");
    co_return fail(ErrorCode::Internal, "container shim for ", config.pod_uid, "/", config.name,
                   " exited without a report: ", log_text.substr(0, 2000));
  }
  impl->entries[key] = entry;
  if (pidfd >= 0) {
    impl->watch(entry, pidfd);
  }
  if (entry->state.running) {
    impl->log->info("container started pod={} container={} attempt={} pid={}", config.pod_uid,
                    config.name, config.attempt, entry->state.pid);
  }
  co_return entry->state;
}

asio::awaitable<Result<void>> Runtime::stop(std::string pod_uid, std::string name, Duration grace) {
  auto impl = impl_;
  auto it = impl->entries.find({pod_uid, name});
  if (it == impl->entries.end()) {
    co_return fail(ErrorCode::NotFound, "no container ", pod_uid, "/", name);
  }
  auto entry = it->second;
  auto cgroups = impl->cgroups(pod_uid, name);
  asio::steady_timer timer(impl->executor);
  if (entry->state.running) {
    signalVerified(entry->state.pid, entry->container_start_ticks, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (entry->state.running && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::min<Duration>(kPoll, deadline - std::chrono::steady_clock::now()));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  // After the grace: everything in the container's cgroup, not only the main process, so that
  // nothing it forked survives it. Repeated, because a process may fork while being killed.
  auto deadline = std::chrono::steady_clock::now() + kKillTimeout;
  while (entry->state.running || !cgroups.procs().empty()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return fail(ErrorCode::DeadlineExceeded, "container ", pod_uid, "/", name,
                     " still has processes after SIGKILL");
    }
    if (entry->state.running) {
      signalVerified(entry->state.pid, entry->container_start_ticks, SIGKILL);
    }
    cgroups.signalAll(SIGKILL);
    timer.expires_after(kPoll);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return ok();
}

asio::awaitable<Result<void>> Runtime::removeContainer(std::string pod_uid, std::string name) {
  auto impl = impl_;
  if (auto r = co_await stop(pod_uid, name, Duration::zero()); !r) {
    co_return r;
  }
  impl->entries.erase({pod_uid, name});
  // Killed processes leave their cgroup when they are reaped: rmdir may need a few tries.
  auto cg = impl->cgroups(pod_uid, name);
  asio::steady_timer timer(impl->executor);
  auto deadline = std::chrono::steady_clock::now() + kCgroupRemoveTimeout;
  for (auto removed = cg.remove(); !removed; removed = cg.remove()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return removed;
    }
    timer.expires_after(kPoll);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::error_code ec;
  fs::remove_all(impl->containerDir(pod_uid, name), ec);
  if (ec) {
    co_return fail(ErrorCode::Unavailable, "remove the state of ", pod_uid, "/", name, ": ",
                   ec.message());
  }
  co_return ok();
}

asio::awaitable<Result<void>> Runtime::removePod(std::string pod_uid) {
  auto impl = impl_;
  if (!safeComponent(pod_uid)) {
    co_return fail(ErrorCode::InvalidArgument, "bad pod uid '", pod_uid, "'");
  }
  std::vector<std::string> names;
  for (const auto& [key, entry] : impl->entries) {
    if (key.first == pod_uid) {
      names.push_back(key.second);
    }
  }
  for (const auto& name : names) {
    if (auto r = co_await stop(pod_uid, name, Duration::zero()); !r) {
      co_return r;
    }
    impl->entries.erase({pod_uid, name});
  }
  // Killed processes leave their cgroup when they are reaped: rmdir may need a few tries.
  auto cg = impl->cgroups(pod_uid, "_");
  asio::steady_timer timer(impl->executor);
  auto deadline = std::chrono::steady_clock::now() + kCgroupRemoveTimeout;
  for (;;) {
    auto removed = cg.removePod();
    if (removed) {
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return removed;
    }
    timer.expires_after(kPoll);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::error_code ec;
  fs::remove_all(impl->options.state_dir + "/" + pod_uid, ec);
  if (!ec) {
    fs::remove_all(podLogDir(pod_uid), ec);
  }
  if (ec) {
    co_return fail(ErrorCode::Unavailable, "remove the files of pod ", pod_uid, ": ", ec.message());
  }
  co_return ok();
}

}  // namespace rampart::agent::runtime

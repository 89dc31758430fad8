#include "agent/probe/local_exec.h"

#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/process.h"

namespace rampart::agent::probe {

namespace asio = boost::asio;

namespace {

constexpr auto kPoll = std::chrono::milliseconds(5);

// Kills the child's process group and reaps the child unless it was reaped: also when the
// coroutine's frame is destroyed mid-wait (its event loop went away), no process is left behind.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (pid_ > 0) {
      killAndReap();
    }
  }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;

  // The exit status once the child has exited (then it is reaped), else nullopt.
  std::optional<int> poll() {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      // A shell's convention for a command killed by a signal: 128 + the signal.
      if (r < 0) {
        return 128 + SIGKILL;
      }
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return std::nullopt;
  }

  // SIGKILL to the whole session's group (the command's own children too), then reap: the
  // child dies at once from SIGKILL, so this wait is bounded by the kernel tearing it down.
  void killAndReap() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(-pid_, SIGKILL);  // new_session: its process group id is its pid
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

asio::awaitable<Result<int>> runSpawned(asio::any_io_executor executor, SpawnFn spawn,
                                        std::vector<std::string> argv, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string command = argv.empty() ? std::string() : argv[0];
  auto pid = spawn(std::move(argv));
  if (!pid) {
    co_return fail(pid.error());
  }
  ChildGuard child(*pid);
  asio::steady_timer timer(executor);
  while (true) {
    if (auto code = child.poll()) {
      co_return *code;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      child.killAndReap();
      co_return fail(ErrorCode::DeadlineExceeded, "command ", command, " timed out");
    }
    timer.expires_at(std::min(now + kPoll, deadline));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

ExecFn execWith(asio::any_io_executor executor, SpawnFn spawn) {
  return [executor, spawn](std::vector<std::string> argv, Duration timeout) {
    return runSpawned(executor, spawn, std::move(argv), timeout);
  };
}

ExecFn localExec(asio::any_io_executor executor) {
  return execWith(executor, [](std::vector<std::string> argv) {
    runtime::SpawnOptions options;
    options.argv = std::move(argv);
    options.log_file = "/dev/null";
    options.new_session = true;
    options.die_with_parent = true;
    return runtime::spawn(options);
  });
}

}  // namespace rampart::agent::probe

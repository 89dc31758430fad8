// The failover window of a TCP load balancer as clients see it: HTTP requests, each on a new
// connection, from several threads, while the backend's processes get SIGKILL part-way through
// (sent here, with kill(2), so that the moment is exact).
//
//   lb_failover_load --host H --port P --kill PID[,PID...] [--threads 8] [--seconds 4]
//                    [--kill-after-ms 1000]
//
// Prints one line of key=value figures, all times relative to the SIGKILL:
//   requests          requests completed or failed
//   failed            requests without a complete "200" answer
//   exit_ms           time until every killed process had exited (and so closed its sockets)
//   failed_after_exit of the failed, those sent after that: the backend was gone, so a load
//                     balancer could have saved each by connecting elsewhere. Requests sent
//                     before can be accepted by the kernel for the dying process and then reset
//                     at its exit, after the request went out: no TCP proxy may replay those.
//   last_failure_ms   when the last failed request was sent ("time until no more errors"); -
//                     when none failed
//   why               failures by kind: connect, send, reset, timeout, closed-without-answer,
//                     bad-answer
// Every socket call has a deadline (1 s connect, 2 s answer); the run ends by itself.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host;
  int port = 0;
  std::vector<pid_t> kill;
  int threads = 8;
  int seconds = 4;
  int kill_after_ms = 1000;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "lb_failover_load: %s\nusage: lb_failover_load --host H --port P --kill PID[,PID...] "
      "[--threads N] [--seconds S] [--kill-after-ms MS]\n",
      why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      usage("missing value for " + flag);
    }
    std::string value = argv[++i];
    if (flag == "--host") {
      o.host = value;
    } else if (flag == "--port") {
      o.port = std::atoi(value.c_str());
    } else if (flag == "--kill") {
      for (size_t at = 0; at <= value.size();) {
        size_t comma = std::min(value.find(',', at), value.size());
        pid_t pid = std::atoi(value.substr(at, comma - at).c_str());
        if (pid <= 0) {
          usage("--kill takes process ids separated by commas: " + value);
        }
        o.kill.push_back(pid);
        at = comma + 1;
      }
    } else if (flag == "--threads") {
      o.threads = std::atoi(value.c_str());
    } else if (flag == "--seconds") {
      o.seconds = std::atoi(value.c_str());
    } else if (flag == "--kill-after-ms") {
      o.kill_after_ms = std::atoi(value.c_str());
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (o.host.empty() || o.port <= 0 || o.port > 65535 || o.kill.empty() || o.threads <= 0 ||
      o.seconds <= 0 || o.kill_after_ms < 0 || o.kill_after_ms >= o.seconds * 1000) {
    usage("--host, --port and --kill are required; --kill-after-ms must fall inside the run");
  }
  return o;
}

// One request on a new connection: nullptr when a complete "200" answer arrived in time,
// otherwise what went wrong.
const char* requestOnce(const sockaddr_in& to) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return "socket";
  }
  timeval connect_timeout{1, 0};  // SO_SNDTIMEO bounds connect() on Linux
  timeval answer_timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &connect_timeout, sizeof connect_timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &answer_timeout, sizeof answer_timeout);
  const char* why = nullptr;
  static const char kRequest[] = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
  constexpr auto kLength = static_cast<ssize_t>(sizeof kRequest - 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    why = "connect";
  } else if (::send(fd, kRequest, kLength, MSG_NOSIGNAL) != kLength) {
    why = "send";
  } else {
    std::string answer;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
      answer.append(buf, static_cast<size_t>(n));
    }
    // EOF after a whole answer: nginx closes after `Connection: close`.
    if (n < 0) {
      why = errno == EAGAIN || errno == EWOULDBLOCK ? "timeout" : "reset";
    } else if (answer.empty()) {
      why = "closed-without-answer";
    } else if (answer.rfind("HTTP/1.1 200", 0) != 0 ||
               answer.find("\r\n\r\n") == std::string::npos) {
      why = "bad-answer";
    }
  }
  ::close(fd);
  return why;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(o.port));
  if (::inet_pton(AF_INET, o.host.c_str(), &to.sin_addr) != 1) {
    usage("--host must be an IPv4 address: " + o.host);
  }

  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(o.seconds);

  std::mutex mu;
  int64_t requests = 0;
  std::vector<int64_t> failures_sent_ns;  // relative to start
  std::map<std::string, int> failures_by_reason;

  // The client threads take no signals (one would interrupt a blocked recv with EINTR and count
  // as a failed request).
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&] {
      int64_t mine = 0;
      std::vector<int64_t> my_failures;
      std::map<std::string, int> my_reasons;
      while (Clock::now() < end) {
        int64_t sent = (Clock::now() - start).count();
        if (const char* why = requestOnce(to)) {
          my_failures.push_back(sent);
          ++my_reasons[why];
        }
        ++mine;
      }
      std::lock_guard lock(mu);
      requests += mine;
      failures_sent_ns.insert(failures_sent_ns.end(), my_failures.begin(), my_failures.end());
      for (const auto& [why, count] : my_reasons) {
        failures_by_reason[why] += count;
      }
    });
  }

  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  std::this_thread::sleep_until(start + std::chrono::milliseconds(o.kill_after_ms));
  // pidfds tell when each process has exited, and so has closed its sockets: requests sent
  // after that were never in flight on the dying backend.
  std::vector<int> pidfds;
  for (pid_t pid : o.kill) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
      std::fprintf(stderr, "lb_failover_load: no process %d: %s\n", pid, std::strerror(errno));
      return 1;
    }
    pidfds.push_back(fd);
  }
  const int64_t kill_at_ns = (Clock::now() - start).count();  // relative to start
  std::string kill_errors;
  for (pid_t pid : o.kill) {
    if (::kill(pid, SIGKILL) != 0) {
      kill_errors += " " + std::to_string(pid) + ": " + std::strerror(errno);
    }
  }
  for (int fd : pidfds) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 5000);  // bounded: a process that outlives SIGKILL by 5 s ends the wait
    ::close(fd);
  }
  const int64_t exited_at_ns = (Clock::now() - start).count();
  for (auto& t : threads) {
    t.join();
  }
  if (!kill_errors.empty()) {
    std::fprintf(stderr, "lb_failover_load: SIGKILL failed for%s\n", kill_errors.c_str());
    return 1;
  }

  int64_t failed_after_exit = 0;
  std::optional<int64_t> last_failure;
  for (int64_t sent : failures_sent_ns) {
    if (sent >= exited_at_ns) {
      ++failed_after_exit;
    }
    last_failure = std::max(last_failure.value_or(sent), sent);
  }
  std::string last = "-";
  if (last_failure) {
    last = std::to_string((*last_failure - kill_at_ns) / 1000000);
  }
  std::string reasons;
  for (const auto& [why, count] : failures_by_reason) {
    reasons += (reasons.empty() ? "" : ",") + why + ":" + std::to_string(count);
  }
  std::printf(
      "requests=%lld failed=%zu exit_ms=%.1f failed_after_exit=%lld last_failure_ms=%s why=%s\n",
      static_cast<long long>(requests), failures_sent_ns.size(),
      static_cast<double>(exited_at_ns - kill_at_ns) / 1e6,
      static_cast<long long>(failed_after_exit), last.c_str(),
      reasons.empty() ? "-" : reasons.c_str());
  return 0;
}

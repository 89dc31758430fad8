// The failover window of a TCP load balancer as clients see it: HTTP requests, each on a new
// connection, from several threads, while a command kills a backend part-way through.
//
//   lb_failover_load --host H --port P --kill 'COMMAND' [--threads 8] [--seconds 4]
//                    [--kill-after-ms 1000]
//
// Prints one line of key=value figures, all times relative to the moment COMMAND was started:
//   requests          requests completed or failed
//   failed            requests without a complete "200" answer
//   failed_new        of those, requests whose connection was opened after the kill: the ones a
//                     load balancer could have saved by retrying the connect elsewhere
//   last_failure_ms   when the last failed request was sent ("time until no more errors"); -
//                     when none failed
// Every socket call has a deadline (1 s connect, 2 s answer); the run ends by itself.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
  std::string kill;
  int threads = 8;
  int seconds = 4;
  int kill_after_ms = 1000;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "lb_failover_load: %s\nusage: lb_failover_load --host H --port P --kill COMMAND "
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
      o.kill = value;
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

// One request on a new connection; true when a complete "200" answer arrived in time.
bool requestOnce(const sockaddr_in& to) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  timeval connect_timeout{1, 0};  // SO_SNDTIMEO bounds connect() on Linux
  timeval answer_timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &connect_timeout, sizeof connect_timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &answer_timeout, sizeof answer_timeout);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) {
    static const char kRequest[] = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    constexpr auto kLength = static_cast<ssize_t>(sizeof kRequest - 1);
    if (::send(fd, kRequest, kLength, MSG_NOSIGNAL) == kLength) {
      std::string answer;
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
        answer.append(buf, static_cast<size_t>(n));
      }
      // EOF after a whole answer: nginx closes after `Connection: close`.
      ok = n == 0 && answer.rfind("HTTP/1.1 200", 0) == 0 &&
           answer.find("\r\n\r\n") != std::string::npos;
    }
  }
  ::close(fd);
  return ok;
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
  std::atomic<int64_t> kill_at_ns{-1};  // relative to start; set just before the command runs

  std::mutex mu;
  int64_t requests = 0;
  std::vector<int64_t> failures_sent_ns;  // relative to start

  // The client threads take no signals (the kill command's SIGCHLD would interrupt a blocked
  // recv with EINTR and count as a failed request); only this thread does.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&] {
      int64_t mine = 0;
      std::vector<int64_t> my_failures;
      while (Clock::now() < end) {
        int64_t sent = (Clock::now() - start).count();
        if (!requestOnce(to)) {
          my_failures.push_back(sent);
        }
        ++mine;
      }
      std::lock_guard lock(mu);
      requests += mine;
      failures_sent_ns.insert(failures_sent_ns.end(), my_failures.begin(), my_failures.end());
    });
  }

  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  std::this_thread::sleep_until(start + std::chrono::milliseconds(o.kill_after_ms));
  kill_at_ns = (Clock::now() - start).count();
  int status = std::system(o.kill.c_str());
  for (auto& t : threads) {
    t.join();
  }
  if (status != 0) {
    std::fprintf(stderr, "lb_failover_load: the kill command failed (status %d): %s\n", status,
                 o.kill.c_str());
    return 1;
  }

  int64_t failed_new = 0;
  std::optional<int64_t> last_failure;
  for (int64_t sent : failures_sent_ns) {
    if (sent >= kill_at_ns) {
      ++failed_new;
    }
    last_failure = std::max(last_failure.value_or(sent), sent);
  }
  std::string last = "-";
  if (last_failure) {
    last = std::to_string((*last_failure - kill_at_ns) / 1000000);
  }
  std::printf("requests=%lld failed=%zu failed_new=%lld last_failure_ms=%s\n",
              static_cast<long long>(requests), failures_sent_ns.size(),
              static_cast<long long>(failed_new), last.c_str());
  return 0;
}

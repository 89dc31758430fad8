#include "lb/load_balancer.h"

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "metrics/metrics.h"

namespace rampart::lb {
namespace {
using namespace std::chrono_literals;

// A backend the kernel answers for: a listening socket nobody accepts on (its backlog completes
// the handshakes that tcp checks and relayed connections need).
struct RawBackend {
  int fd = -1;
  uint16_t port = 0;
  RawBackend() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd, 512);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~RawBackend() { ::close(fd); }
};

LbConfig oneServer(const std::string& name, uint16_t backend_port) {
  auto listen_port = net::pickFreePort("127.0.0.1");
  EXPECT_TRUE(listen_port);
  VirtualServerConfig vs;
  vs.name = name;
  vs.listen = {"127.0.0.1", listen_port.value_or(0)};
  vs.backends.push_back(BackendConfig{{"127.0.0.1", backend_port}});
  vs.health.interval = 50ms;
  vs.health.outage_interval = 50ms;
  vs.health.rise = 1;
  vs.health.fall = 1;
  LbConfig config;
  config.workers = 1;
  config.virtual_servers.push_back(vs);
  return config;
}

// A balancer whose control loop runs on its own thread; calls go through the loop.
class Balancer {
 public:
  explicit Balancer(metrics::Registry& registry) : lb_(io_, registry) {}
  ~Balancer() {
    boost::asio::post(io_, [this] { lb_.stop(); });
    work_.reset();
    thread_.join();
  }
  Result<void> start(const LbConfig& config) {
    auto applied = lb_.apply(config);
    thread_ = std::thread([this] { io_.run(); });
    return applied;
  }
  template <class F>
  std::invoke_result_t<F> onLoop(F f) {
    std::packaged_task<std::invoke_result_t<F>()> task(std::move(f));
    auto result = task.get_future();
    boost::asio::post(io_, std::move(task));
    return result.get();
  }
  std::string status() {
    return onLoop([this] { return lb_.statusJson(); });
  }
  LoadBalancer& lb() { return lb_; }

 private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  LoadBalancer lb_;
  std::thread thread_;
};

template <class Pred>
bool eventually(Pred pred, Duration limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(LoadBalancerMetrics, TwoBalancersWithTheirOwnRegistriesBothExport) {
  RawBackend backend;
  auto first_registry = metrics::makeRegistry();
  auto second_registry = metrics::makeRegistry();
  Balancer first(*first_registry);
  Balancer second(*second_registry);
  ASSERT_TRUE(first.start(oneServer("first", backend.port)));
  ASSERT_TRUE(second.start(oneServer("second", backend.port)));
  auto first_text = metrics::render(*first_registry);
  auto second_text = metrics::render(*second_registry);
  EXPECT_NE(first_text.find("rampart_lb_backend_up{"), std::string::npos) << first_text;
  EXPECT_NE(first_text.find("vs=\"first\""), std::string::npos);
  EXPECT_NE(second_text.find("rampart_lb_backend_up{"), std::string::npos) << second_text;
  EXPECT_NE(second_text.find("vs=\"second\""), std::string::npos);
  EXPECT_EQ(first_text.find("vs=\"second\""), std::string::npos) << "each in its own registry";
}

TEST(LoadBalancerPassiveEjection, WithoutHealthChecksAnEjectedBackendReturnsAfterTheInterval) {
  // Nothing else would ever bring it back (the agent's Services run without checks: readiness
  // comes from the Endpoints).
  RawBackend backend;
  auto registry = metrics::makeRegistry();
  Balancer balancer(*registry);
  auto config = oneServer("svc", backend.port);
  config.virtual_servers[0].health.enabled = false;
  config.virtual_servers[0].health.interval = 300ms;
  ASSERT_TRUE(balancer.start(config));
  auto id = "127.0.0.1:" + std::to_string(backend.port);
  balancer.onLoop([&] { balancer.lb().reportConnectFailure("svc", id, "connection refused"); });
  EXPECT_NE(balancer.status().find("\"DOWN\""), std::string::npos) << balancer.status();
  EXPECT_TRUE(eventually([&] { return balancer.status().find("\"DOWN\"") == std::string::npos; },
                         3s))
      << balancer.status();
}

int connectTo(int fd, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
}

std::chrono::microseconds processCpu() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto of = [](const timeval& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return of(usage.ru_utime) + of(usage.ru_stime);
}

TEST(LoadBalancerOutOfDescriptors, NeitherSpinsNorBlamesAHealthyBackendAndRecovers) {
  RawBackend backend;
  auto registry = metrics::makeRegistry();
  Balancer balancer(*registry);
  auto config = oneServer("vs", backend.port);
  ASSERT_TRUE(balancer.start(config));
  ASSERT_TRUE(eventually([&] { return balancer.status().find("\"UP\"") != std::string::npos; }, 5s))
      << balancer.status();

  // Client sockets made while descriptors are plenty, connected once they are not.
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  }
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  int lowest_free = ::dup(0);
  ::close(lowest_free);
  rlimit tiny = saved;
  tiny.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tiny), 0);
  for (int fd : clients) {
    EXPECT_EQ(connectTo(fd, config.virtual_servers[0].listen.port), 0);
  }
  auto cpu_before = processCpu();
  std::this_thread::sleep_for(1s);  // ~20 health checks, and the worker facing EMFILE
  auto burnt = processCpu() - cpu_before;
  auto during = balancer.status();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);

  EXPECT_LT(burnt, 100ms)
      << "the accept loop spun (a spinning loop burns what the scheduler gives it)";
  std::cerr << "cpu while out of descriptors: " << burnt.count() << " us\n";
  EXPECT_EQ(during.find("DOWN"), std::string::npos) << "blamed the backend: " << during;
  auto text = metrics::render(*registry);
  EXPECT_NE(text.find("rampart_lb_backend_checks_inconclusive_total{"), std::string::npos);
  EXPECT_EQ(text.find("rampart_lb_backend_checks_inconclusive_total{backend=\"127.0.0.1:" +
                      std::to_string(backend.port) + "\",vs=\"vs\"} 0"),
            std::string::npos)
      << "checks were made during the exhaustion and counted inconclusive: " << text;
  balancer.onLoop([&] {
    balancer.lb().refreshMetrics();
    return 0;
  });
  text = metrics::render(*registry);
  EXPECT_EQ(text.find("rampart_lb_accept_errors_total 0"), std::string::npos) << text;
  EXPECT_NE(text.find("rampart_lb_backend_ejections_total{backend=\"127.0.0.1:" +
                      std::to_string(backend.port) + "\",vs=\"vs\"} 0"),
            std::string::npos)
      << text;

  // Descriptors are back: the queued clients are relayed.
  EXPECT_TRUE(eventually(
      [&] { return balancer.status().find("\"connections\": 3") != std::string::npos; }, 5s))
      << balancer.status();
  for (int fd : clients) {
    ::close(fd);
  }
}

}  // namespace
}  // namespace rampart::lb

// ServiceProxy against real sockets on the loopback (127.0.0.0/8 is local without any VIP, so
// these tests change no interface): configs are applied on the proxy's thread, an identical one
// is not re-applied, a failing one keeps the running one, an empty one stops the balancer.

#include "agent/services/service_proxy.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "agent/services/service_plan.h"
#include "net/endpoint.h"
#include "testing/eventually.h"

namespace rampart::agent::services {
namespace {
using namespace std::chrono_literals;

int listenOn(const std::string& host, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A backend answering each connection with its tag, then closing it.
class TagServer {
 public:
  explicit TagServer(std::string tag) : tag_(std::move(tag)) {
    auto port = net::pickFreePort("127.0.0.1");
    port_ = port ? *port : 0;
    fd_ = listenOn("127.0.0.1", port_);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) != 1) {
          continue;
        }
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          (void)!::write(c, tag_.data(), tag_.size());
          ::close(c);
        }
      }
    });
  }
  ~TagServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }

 private:
  std::string tag_;
  uint16_t port_ = 0;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Connects and reads until the peer closes: the tag, "" when closed at once, "refused".
std::string fetch(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "refused";
  }
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

lb::LbConfig oneServer(uint16_t listen, std::vector<uint16_t> backends) {
  lb::LbConfig config;
  config.workers = 1;
  lb::VirtualServerConfig vs;
  vs.name = "default/web:80";
  vs.listen = net::Endpoint{"127.0.0.1", listen};
  vs.health.enabled = false;
  for (auto port : backends) {
    vs.backends.push_back(lb::BackendConfig{net::Endpoint{"127.0.0.1", port}});
  }
  config.virtual_servers.push_back(vs);
  return config;
}

Result<void> apply(ServiceProxy& proxy, const lb::LbConfig& config) {
  auto future = proxy.update(config, fingerprintOf(config));
  if (future.wait_for(10s) != std::future_status::ready) {
    return fail(ErrorCode::DeadlineExceeded, "apply did not finish in 10 s");
  }
  return future.get();
}

class ServiceProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto port = net::pickFreePort("127.0.0.1");
    ASSERT_TRUE(port);
    listen_ = *port;
    ASSERT_TRUE(a_.ok() && b_.ok());
  }
  std::shared_ptr<metrics::Registry> registry_ = metrics::makeRegistry();
  TagServer a_{"a"};
  TagServer b_{"b"};
  uint16_t listen_ = 0;
};

TEST_F(ServiceProxyTest, AnAppliedConfigSpreadsConnectionsOverItsBackends) {
  ServiceProxy proxy(*registry_);
  auto config = oneServer(listen_, {a_.port(), b_.port()});
  ASSERT_TRUE(apply(proxy, config));
  EXPECT_EQ(proxy.running(), fingerprintOf(config));
  std::set<std::string> seen;
  for (int i = 0; i < 6; ++i) {
    seen.insert(fetch(listen_));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b"}));
}

TEST_F(ServiceProxyTest, AnIdenticalConfigIsNotAppliedAgain) {
  ServiceProxy proxy(*registry_);
  auto config = oneServer(listen_, {a_.port()});
  ASSERT_TRUE(apply(proxy, config));
  ASSERT_TRUE(apply(proxy, config));
  EXPECT_EQ(proxy.applied(), 1u);
  ASSERT_TRUE(apply(proxy, oneServer(listen_, {b_.port()})));
  EXPECT_EQ(proxy.applied(), 2u);
  EXPECT_EQ(fetch(listen_), "b") << "the new backend set serves";
}

TEST_F(ServiceProxyTest, AFailingConfigKeepsTheRunningOne) {
  ServiceProxy proxy(*registry_);
  auto good = oneServer(listen_, {a_.port()});
  ASSERT_TRUE(apply(proxy, good));
  // A second virtual server on an address another process listens on: the whole apply fails.
  auto bad = good;
  auto taken = bad.virtual_servers[0];
  taken.name = "default/taken:80";
  taken.listen.port = b_.port();
  bad.virtual_servers.push_back(taken);
  EXPECT_FALSE(apply(proxy, bad));
  EXPECT_EQ(proxy.running(), fingerprintOf(good));
  EXPECT_EQ(fetch(listen_), "a");
}

TEST_F(ServiceProxyTest, AnEmptyConfigStopsServingAndALaterOneServesAgain) {
  ServiceProxy proxy(*registry_);
  ASSERT_TRUE(apply(proxy, oneServer(listen_, {a_.port()})));
  ASSERT_EQ(fetch(listen_), "a");
  ASSERT_TRUE(apply(proxy, lb::LbConfig{}));
  EXPECT_TRUE(testing::eventually([&] { return fetch(listen_) == "refused"; }, 3s));
  ASSERT_TRUE(apply(proxy, oneServer(listen_, {b_.port()})));
  EXPECT_EQ(fetch(listen_), "b");
}

TEST_F(ServiceProxyTest, StopClosesTheListenersAndRefusesLaterUpdates) {
  ServiceProxy proxy(*registry_);
  ASSERT_TRUE(apply(proxy, oneServer(listen_, {a_.port()})));
  proxy.stop();
  EXPECT_TRUE(testing::eventually([&] { return fetch(listen_) == "refused"; }, 3s));
  auto after = apply(proxy, oneServer(listen_, {a_.port()}));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::FailedPrecondition);
  EXPECT_EQ(proxy.running(), "");
}

TEST_F(ServiceProxyTest, AServiceWithoutBackendsClosesItsClientsAtOnce) {
  ServiceProxy proxy(*registry_);
  ASSERT_TRUE(apply(proxy, oneServer(listen_, {})));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(fetch(listen_), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST_F(ServiceProxyTest, ALeftoverFileIsReadAtStartAndThenListsWhatTheProxyHolds) {
  // Lines that are not "IPv4@interface" are never handed to `ip`; the file is rewritten.
  std::string file = "/tmp/rampart-proxy-test-" + std::to_string(::getpid()) + ".vips";
  std::ofstream(file) << "garbage\n10.0.0.1@bad iface;rm\nfd00::1@lo\n";
  {
    ServiceProxy proxy(*registry_, file);
    ASSERT_TRUE(apply(proxy, oneServer(listen_, {a_.port()})));
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "") << "no virtual server of this config has a vip_interface";
  }
  EXPECT_TRUE(std::filesystem::exists(file));
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace rampart::agent::services

#include "net/endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <vector>

namespace rampart::net {
namespace {

TEST(Endpoint, LoopbackHostsAreTheWhole127BlockIpv6LoopbackAndLocalhost) {
  for (const char* host : {"127.0.0.1", "127.3.9.200", "::1", "localhost"}) {
    EXPECT_TRUE(isLoopbackHost(host)) << host;
  }
  for (const char* host : {"10.0.0.1", "128.0.0.1", "::2", "localhost.example", "1270.0.0.1", ""}) {
    EXPECT_FALSE(isLoopbackHost(host)) << host;
  }
}

TEST(Endpoint, AWildcardListenIsAdvertisedWithTheFallbackHostAndKeepsPortAndScheme) {
  EXPECT_EQ(advertisedEndpoint({"0.0.0.0", 8008, true}, "10.0.0.11").toString(),
            "https://10.0.0.11:8008");
  EXPECT_EQ(advertisedEndpoint({"::", 8008}, "fd00::11").toString(), "[fd00::11]:8008");
  EXPECT_EQ(advertisedEndpoint({"", 8008}, "10.0.0.11").toString(), "10.0.0.11:8008");
  EXPECT_EQ(advertisedEndpoint({"10.0.0.12", 8008}, "10.0.0.11").toString(), "10.0.0.12:8008");
}

TEST(Endpoint, ParsesHostPortWithOrWithoutScheme) {
  EXPECT_EQ(*parseEndpoint("127.0.0.1:2379"), (Endpoint{"127.0.0.1", 2379}));
  EXPECT_EQ(*parseEndpoint("http://127.0.0.1:2379/"), (Endpoint{"127.0.0.1", 2379}));
  EXPECT_EQ(*parseEndpoint("[::1]:80"), (Endpoint{"::1", 80}));
  EXPECT_EQ(parseEndpoint("[::1]:80")->toString(), "[::1]:80");
}

TEST(Endpoint, RejectsMissingOrInvalidPortsAndOtherSchemes) {
  EXPECT_FALSE(parseEndpoint("127.0.0.1"));
  EXPECT_FALSE(parseEndpoint("127.0.0.1:99999"));
  EXPECT_FALSE(parseEndpoint(":80"));
  auto other = parseEndpoint("unix://x:1");
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("'unix://x:1'"), std::string::npos);
  EXPECT_NE(other.error().message.find("https://"), std::string::npos);
  auto bad_https = parseEndpoint("https://x");
  ASSERT_FALSE(bad_https);
  EXPECT_NE(bad_https.error().message.find("'https://x'"), std::string::npos);
}

TEST(Endpoint, HttpsKeepsItsSchemeAndRoundTrips) {
  auto https = parseEndpoint("https://127.0.0.1:2379/");
  ASSERT_TRUE(https) << https.error().message;
  EXPECT_EQ(*https, (Endpoint{"127.0.0.1", 2379, true}));
  EXPECT_EQ(https->toString(), "https://127.0.0.1:2379");
  EXPECT_EQ(https->hostPort(), "127.0.0.1:2379");
  EXPECT_EQ(https->url(), "https://127.0.0.1:2379");
  EXPECT_EQ(*parseEndpoint(https->toString()), *https);
  auto v6 = parseEndpoint("https://[::1]:443");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->toString(), "https://[::1]:443");
  EXPECT_EQ(parseEndpoint("127.0.0.1:2379")->url(), "http://127.0.0.1:2379");
  EXPECT_NE(*parseEndpoint("https://127.0.0.1:2379"), *parseEndpoint("http://127.0.0.1:2379"));
}

// A TCP socket bound to 127.0.0.1:port, or -1.
int bindLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(PickFreePort, PicksABindablePortOutsideTheEphemeralRange) {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned ephemeral_low = 32768;
  range >> ephemeral_low;
  for (int i = 0; i < 20; ++i) {
    auto port = pickFreePort("127.0.0.1");
    ASSERT_TRUE(port) << port.error().message;
    if (ephemeral_low > 11000) {
      EXPECT_LT(*port, ephemeral_low);
      EXPECT_GE(*port, 10000);
    }
    int fd = bindLoopback(*port);
    EXPECT_GE(fd, 0) << *port;
    ::close(fd);
  }
}

TEST(PickFreePort, NeverPicksAPortThatIsListenedOn) {
  // Hold many listeners; none of their ports may come back.
  std::vector<int> fds;
  std::set<uint16_t> held;
  for (int i = 0; i < 50; ++i) {
    auto port = pickFreePort("127.0.0.1");
    ASSERT_TRUE(port);
    int fd = bindLoopback(*port);
    if (fd >= 0 && ::listen(fd, 1) == 0) {
      EXPECT_FALSE(held.contains(*port)) << *port;
      held.insert(*port);
      fds.push_back(fd);
    } else {
      ADD_FAILURE() << "picked port " << *port << " could not be bound";
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }
  for (int fd : fds) {
    ::close(fd);
  }
}

TEST(PickFreePort, TwoProcessesPickingAtOnceNeverGetTheSamePort) {
  // Two test processes pick ports for servers that bind them later; neither binds here, so only
  // the claim keeps them apart. 800 picks each out of ~22k ports: about 28 shared ports expected
  // by chance without it.
  constexpr int kPicks = 800;
  int to_parent[2];
  int to_child[2];
  ASSERT_EQ(::pipe(to_parent), 0);
  ASSERT_EQ(::pipe(to_child), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::vector<uint16_t> picked;
    for (int i = 0; i < kPicks; ++i) {
      auto port = pickFreePort("127.0.0.1");
      picked.push_back(port ? *port : 0);
    }
    ssize_t n = ::write(to_parent[1], picked.data(), picked.size() * sizeof(uint16_t));
    char done;
    (void)!::read(to_child[0], &done, 1);  // keep the claims until the parent has picked
    ::_exit(n == static_cast<ssize_t>(picked.size() * sizeof(uint16_t)) ? 0 : 1);
  }
  std::vector<uint16_t> theirs(kPicks);
  size_t got = 0;
  auto* bytes = reinterpret_cast<char*>(theirs.data());
  while (got < theirs.size() * sizeof(uint16_t)) {
    ssize_t n = ::read(to_parent[0], bytes + got, theirs.size() * sizeof(uint16_t) - got);
    if (n <= 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  std::set<uint16_t> shared;
  std::set<uint16_t> their_ports(theirs.begin(), theirs.end());
  for (int i = 0; i < kPicks; ++i) {
    auto port = pickFreePort("127.0.0.1");
    ASSERT_TRUE(port) << port.error().message;
    if (their_ports.contains(*port)) {
      shared.insert(*port);
    }
  }
  ASSERT_EQ(::write(to_child[1], "x", 1), 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) {
    ::close(fd);
  }
  ASSERT_EQ(got, theirs.size() * sizeof(uint16_t));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_FALSE(their_ports.contains(0)) << "the child failed to pick";
  EXPECT_TRUE(shared.empty()) << shared.size() << " ports picked by both processes, e.g. "
                              << (shared.empty() ? 0 : *shared.begin());
}

TEST(PickFreePort, RejectsAHostThatIsNotAnIpv4Address) {
  auto port = pickFreePort("localhost");
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("localhost"), std::string::npos);
}

}  // namespace
}  // namespace rampart::net

#include "lb/listen_check.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

namespace rampart::lb {
namespace {
namespace ip = boost::asio::ip;

constexpr const char* kV4Table =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000\n"
    "   1: 0100007F:0050 0100007F:9C40 06 00000000:00000000 03:00000F7A 00000000     0\n"
    "   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n";
constexpr const char* kV6Table =
    "  sl  local_address                         remote_address                        st\n"
    "   0: 0000000000000000FFFF00000B00007F:1F91 00000000000000000000000000000000:0000 0A\n"
    "   1: 00000000000000000000000001000000:1F92 00000000000000000000000000000000:0000 0A\n";

TEST(ListenCheck, FindsListenersInTheKernelsTable) {
  auto at = [](const char* address, uint16_t port) {
    return ip::tcp::endpoint(ip::make_address(address), port);
  };
  EXPECT_TRUE(tableListsListener(kV4Table, false, at("127.0.0.1", 8080)));
  EXPECT_FALSE(tableListsListener(kV4Table, false, at("127.0.0.2", 8080))) << "other address";
  EXPECT_FALSE(tableListsListener(kV4Table, false, at("127.0.0.1", 80))) << "TIME-WAIT only";
  EXPECT_TRUE(tableListsListener(kV4Table, false, at("127.0.0.9", 22))) << "wildcard listener";
  EXPECT_TRUE(tableListsListener(kV6Table, true, at("127.0.0.11", 8081))) << "v4-mapped";
  EXPECT_TRUE(tableListsListener(kV6Table, true, at("::1", 8082)));
  EXPECT_FALSE(tableListsListener(kV6Table, true, at("::1", 8081)));
  EXPECT_FALSE(tableListsListener("garbage\nmore garbage 0A\n", false, at("127.0.0.1", 8080)));
}

uint16_t portOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

int listener(bool reuse) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (reuse) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd, 4), 0);
  return fd;
}

TEST(ListenCheck, AListenerElsewhereIsNamedAsSuch) {
  int other = listener(true);
  ip::tcp::endpoint at(ip::make_address("127.0.0.1"), portOf(other));
  auto r = checkNobodyListens(at);
  ::close(other);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("another process listens there"), std::string::npos)
      << r.error().message;
}

TEST(ListenCheck, APortHeldOnlyByTimeWaitIsNotBlamedOnAListener) {
  // A closed connection of a listener without SO_REUSEADDR, closed by the server side first:
  // its TIME-WAIT socket keeps the port from a new bind, though nothing listens.
  int server = listener(false);
  uint16_t port = portOf(server);
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  int accepted = ::accept(server, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  ::close(server);
  ::close(accepted);  // the server side closes first: it is the one left in TIME-WAIT
  char byte;
  EXPECT_EQ(::recv(client, &byte, 1, 0), 0) << "the client saw the FIN";
  ::close(client);
  ip::tcp::endpoint at(ip::make_address("127.0.0.1"), port);
  Result<void> r = ok();
  for (int i = 0; i < 100 && r; ++i) {  // the last ACK reaches the server side
    r = checkNobodyListens(at);
    if (r) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_FALSE(r) << "the TIME-WAIT socket holds the port";
  EXPECT_EQ(r.error().message.find("another process listens"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("TIME-WAIT"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace rampart::lb

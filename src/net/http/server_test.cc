#include "net/http/server.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <future>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace rampart::net::http {
namespace {

std::string statusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

// A blocking loopback client with a 5 s receive timeout.
int connectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void sendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return;  // the server may close early (that is what some tests are about)
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// Everything the server sends until it closes (or 5 s of silence).
std::string readAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

class HttpServer : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    server_.emplace(io_.get_executor(), options);
    server_->route("/echo", [](const Request& r) { return Response::text(200, r.body); });
    server_->route("/throws", [](const Request&) -> Response { throw std::runtime_error("x"); });
    auto bound = server_->listen({"127.0.0.1", 0});
    ASSERT_TRUE(bound) << bound.error().message;
    port_ = bound->port;
  }
  void runLoop() {
    loop_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) {
      boost::asio::post(io_, [this] { server_->stop(); });
    }
    work_.reset();
    if (loop_.joinable()) {
      loop_.join();
    } else {
      io_.run();
    }
  }
  ServerStats stats() {
    std::packaged_task<ServerStats()> task([this] { return server_->stats(); });
    auto result = task.get_future();
    boost::asio::post(io_, std::move(task));
    return result.get();
  }
  // One connection: sends `bytes` and returns everything answered.
  std::string exchange(std::string_view bytes) {
    int fd = connectTo(port_);
    EXPECT_GE(fd, 0);
    sendAll(fd, bytes);
    std::string answer = readAll(fd);
    ::close(fd);
    return answer;
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::optional<Server> server_;
  uint16_t port_ = 0;
  std::thread loop_;
};

TEST_F(HttpServer, ServesARequestOnARealSocket) {
  start();
  runLoop();
  auto answer = exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 200 OK");
  EXPECT_TRUE(answer.ends_with("hello")) << answer;
}

TEST_F(HttpServer, GarbageGets400AndClose) {
  start();
  runLoop();
  auto answer = exchange("\x16\x03\x01 not http at all\r\n\r\n");
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_EQ(stats().bad_requests, 1u);
}

TEST_F(HttpServer, ABadChunkedBodyGets400) {
  start();
  runLoop();
  auto answer = exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 400 Bad Request");
}

TEST_F(HttpServer, OversizedHeadersGet431) {
  start();
  runLoop();
  std::string request =
      "GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  auto answer = exchange(request);
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_F(HttpServer, AHeaderThatNeverEndsGets431NotAGrowingBuffer) {
  start();
  runLoop();
  std::string request = "GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(200000, 'a');
  auto answer = exchange(request);
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_F(HttpServer, ABodyOverTheLimitGets413) {
  ServerOptions options;
  options.body_limit = 1024;
  start(options);
  runLoop();
  auto answer = exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" +
                         std::string(2048, 'b'));
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 413 Payload Too Large");
  auto fits = exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n" +
      std::string(1024, 'b'));
  EXPECT_EQ(statusLine(fits), "HTTP/1.1 200 OK");
}

TEST_F(HttpServer, TheDefaultBodyLimitIs64KiB) {
  start();
  runLoop();
  auto answer = exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n");
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 413 Payload Too Large");
}

TEST_F(HttpServer, AThrowingHandlerGets500AndTheServerLives) {
  start();
  runLoop();
  auto answer = exchange("GET /throws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 500 Internal Server Error");
  auto next = exchange("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(statusLine(next), "HTTP/1.1 200 OK");
}

TEST_F(HttpServer, ConnectionsOverTheCapAreClosedAtOnceAndCounted) {
  ServerOptions options;
  options.max_connections = 2;
  start(options);
  runLoop();
  int first = connectTo(port_);
  int second = connectTo(port_);
  sendAll(first, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  sendAll(second, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  char buf[512];
  ASSERT_GT(::recv(first, buf, sizeof buf, 0), 0);  // both are being served (kept alive)
  ASSERT_GT(::recv(second, buf, sizeof buf, 0), 0);
  auto third = exchange("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(third, "") << "closed without an answer";
  EXPECT_EQ(stats().rejected_connections, 1u);
  EXPECT_EQ(stats().active_connections, 2u);
  ::close(first);
  ::close(second);
  // Room again once they are gone.
  std::string again;
  for (int i = 0; i < 100 && again.empty(); ++i) {
    again = exchange("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (again.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the closes reach the loop
    }
  }
  EXPECT_EQ(statusLine(again), "HTTP/1.1 200 OK");
}

// The lowest descriptor number not in use: with RLIMIT_NOFILE set to it, no new one can be made.
int lowestFreeDescriptor() {
  int fd = ::dup(0);
  ::close(fd);
  return fd;
}

TEST_F(HttpServer, AcceptBacksOffWhileOutOfDescriptorsAndRecovers) {
  start();
  // Connections the kernel has completed and queued: the listener stays readable.
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(connectTo(port_));
    ASSERT_GE(clients.back(), 0);
  }
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit tiny = saved;
  tiny.rlim_cur = static_cast<rlim_t>(lowestFreeDescriptor());
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tiny), 0);
  runLoop();
  clockid_t loop_clock;
  ASSERT_EQ(::pthread_getcpuclockid(loop_.native_handle(), &loop_clock), 0);
  auto cpu = [&] {
    timespec ts{};
    ::clock_gettime(loop_clock, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  };
  auto cpu_before = cpu();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto burnt = cpu() - cpu_before;
  auto during = stats();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_LT(burnt, std::chrono::milliseconds(150)) << "the accept loop spun";
  EXPECT_GE(during.accept_errors, 1u);
  EXPECT_LT(during.accept_errors, 40u);
  // Descriptors are back: the queued connections are served.
  for (int fd : clients) {
    sendAll(fd, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(statusLine(readAll(fd)), "HTTP/1.1 200 OK");
    ::close(fd);
  }
}

TEST(HttpServerForTesting, RunsTheRealParserAndRouter) {
  boost::asio::io_context io;
  Server server(io.get_executor());
  server.route("/echo", [](const Request& r) { return Response::text(200, r.body); });
  auto answer = server.processForTesting(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
      "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 200 OK");
  EXPECT_NE(answer.find("\r\n\r\nhi"), std::string::npos) << answer;
  EXPECT_NE(answer.find("HTTP/1.1 404 Not Found"), std::string::npos) << "pipelined: " << answer;
  EXPECT_EQ(statusLine(server.processForTesting("GET / HTTP/9.9\r\n\r\n")),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(server.processForTesting(""), "");
  EXPECT_EQ(server.processForTesting("GET /echo HTTP/1.1\r\nHo"), "") << "cut short: no answer";
}

TEST(HttpServerForTesting, AppliesTheServersLimits) {
  boost::asio::io_context io;
  ServerOptions options;
  options.header_limit = 1024;
  options.body_limit = 10;
  Server server(io.get_executor(), options);
  server.route("/echo", [](const Request& r) { return Response::text(200, r.body); });
  EXPECT_EQ(statusLine(server.processForTesting(
                "GET /echo HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n")),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(statusLine(server.processForTesting(
                "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" +
                std::string(32, 'x') + "\r\n0\r\n\r\n")),
            "HTTP/1.1 413 Payload Too Large");
}

}  // namespace
}  // namespace rampart::net::http

#include "net/http/async_routes.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rampart::net::http {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

// Waits `d` on the current coroutine's executor.
asio::awaitable<void> sleepFor(Duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string statusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

// One request on a fresh loopback connection; everything answered until the server closes (or
// 5 s of silence).
std::string roundTrip(uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return "";
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

std::string get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
}

// A real server on loopback with its loop on a thread; routes added before start().
class AsyncRoutesTest : public ::testing::Test {
 protected:
  void start() {
    routes_.mount(server_);
    auto bound = server_.listen({"127.0.0.1", 0});
    ASSERT_TRUE(bound) << bound.error().message;
    port_ = bound->port;
    loop_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_.stop(); });
    work_.reset();
    if (loop_.joinable()) {
      loop_.join();
    } else {
      io_.run();
    }
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      io_.get_executor()};
  Server server_{io_.get_executor()};
  AsyncRoutes routes_;
  std::atomic<bool> late_answer_given_ = false;  // a fixture's: the late handler outlives the test
  uint16_t port_ = 0;
  std::thread loop_;
};

TEST_F(AsyncRoutesTest, AnswersOnlyWhenTheHandlerHasFinishedItsWork) {
  std::atomic<bool> work_done = false;
  routes_.route("/write", 5s, [&work_done](Request, TimePoint) -> asio::awaitable<Response> {
    co_await sleepFor(200ms);  // the "etcd write"
    work_done = true;
    co_return Response::json(200, R"({"written":true})");
  });
  start();
  auto sent = std::chrono::steady_clock::now();
  auto answer = roundTrip(port_, get("/write"));
  auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 200 OK");
  EXPECT_TRUE(answer.ends_with(R"({"written":true})")) << answer;
  EXPECT_TRUE(work_done) << "answered before the work was done";
  EXPECT_GE(took, 200ms);
}

TEST_F(AsyncRoutesTest, AHandlerPastItsDeadlineGets504WithinTheBoundAndNever200) {
  routes_.route("/stuck", 300ms, [this](Request, TimePoint) -> asio::awaitable<Response> {
    // Ignores its deadline (like an etcd request that does not heed cancellation).
    co_await sleepFor(1500ms);
    late_answer_given_ = true;
    co_return Response::json(200, R"({"written":true})");
  });
  start();
  auto sent = std::chrono::steady_clock::now();
  auto answer = roundTrip(port_, get("/stuck"));
  auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 504 Gateway Timeout");
  EXPECT_NE(answer.find("outcome is unknown"), std::string::npos) << answer;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1200ms) << "the answer waited for the handler instead of its deadline";
  EXPECT_FALSE(late_answer_given_);
}

TEST_F(AsyncRoutesTest, TheHandlerGetsItsDeadlineAndTheRequest) {
  std::atomic<int64_t> remaining_ms = -1;
  routes_.route("/deadline", 2s,
                [&remaining_ms](Request request, TimePoint deadline) -> asio::awaitable<Response> {
                  remaining_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now())
                                     .count();
                  co_return Response::text(201, request.method + " " + request.target);
                });
  start();
  auto answer = roundTrip(port_, get("/deadline?x=1"));
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 201 Created");
  EXPECT_TRUE(answer.ends_with("GET /deadline?x=1")) << answer;
  EXPECT_GT(remaining_ms, 1500);
  EXPECT_LE(remaining_ms, 2000);
}

TEST_F(AsyncRoutesTest, SyncRoutesStayAndOtherPathsGetTheOtherwiseHandlerOr404) {
  server_.route("/sync", [](const Request&) { return Response::text(200, "sync"); });
  routes_.route("/async", 1s, [](Request, TimePoint) -> asio::awaitable<Response> {
    co_return Response::text(200, "async");
  });
  start();
  EXPECT_TRUE(roundTrip(port_, get("/sync")).ends_with("sync"));
  EXPECT_TRUE(roundTrip(port_, get("/async")).ends_with("async"));
  EXPECT_EQ(statusLine(roundTrip(port_, get("/nothing"))), "HTTP/1.1 404 Not Found");
}

TEST(AsyncRoutes, UnroutedPathsGoToTheOtherwiseHandler) {
  asio::io_context io;
  Server server(io.get_executor());
  AsyncRoutes routes;
  routes.route("/mine", 1s, [](Request, TimePoint) -> asio::awaitable<Response> {
    co_return Response::text(200, "mine");
  });
  routes.mount(server, [](const Request&, ResponseStream&) -> asio::awaitable<Response> {
    co_return Response::text(202, "other");
  });
  auto other = server.processForTesting(get("/else"));
  EXPECT_EQ(statusLine(other), "HTTP/1.1 202 Accepted");
  auto mine = server.processForTesting(get("/mine"));
  EXPECT_TRUE(mine.ends_with("mine")) << mine;
}

TEST(AsyncRoutes, AThrowingHandlerGets500) {
  asio::io_context io;
  Server server(io.get_executor());
  AsyncRoutes routes;
  routes.route("/throws", 1s, [](Request, TimePoint) -> asio::awaitable<Response> {
    co_await sleepFor(1ms);
    throw std::runtime_error("boom");
  });
  routes.mount(server);
  auto answer = server.processForTesting(get("/throws"));
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 500 Internal Server Error");
}

}  // namespace
}  // namespace rampart::net::http

// The libpq layer against real loopback sockets: a port nobody listens on, a listener that never
// answers, and a scripted server speaking just enough of the PostgreSQL protocol (startup, simple
// query) to prove the deadline, error-classification and notice rules, blocking and on asio.
#include "pq/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pq/async.h"

namespace rampart::pq {
namespace {
using namespace std::chrono_literals;
using std::chrono::steady_clock;

int listenLoopback(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 8) != 0) {
    ADD_FAILURE() << "cannot listen: " << std::strerror(errno);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

std::string conninfo(uint16_t port) {
  return "host=127.0.0.1 port=" + std::to_string(port) +
         " user=u dbname=d sslmode=disable gssencmode=disable";
}

// ---- A scripted PostgreSQL server (one client, simple queries) ----

std::string int32(uint32_t v) {
  v = htonl(v);
  return std::string(reinterpret_cast<const char*>(&v), 4);
}
std::string int16(uint16_t v) {
  v = htons(v);
  return std::string(reinterpret_cast<const char*>(&v), 2);
}
std::string message(char type, const std::string& body) {
  return std::string(1, type) + int32(static_cast<uint32_t>(body.size() + 4)) + body;
}
const std::string kReady = message('Z', "I");
std::string notice(char type, const std::string& severity, const std::string& text) {
  return message(type, "S" + severity + '\0' + "V" + severity + '\0' + "C00000" + '\0' + "M" +
                           text + '\0' + '\0');
}
// One text column `c`, one row per value (nullopt: NULL).
std::string rows(const std::vector<std::optional<std::string>>& values) {
  std::string out = message('T', int16(1) + "c" + '\0' + int32(0) + int16(0) + int32(25) +
                                     int16(0xffff) + int32(0xffffffff) + int16(0));
  for (const auto& v : values) {
    out += message(
        'D', int16(1) + (v ? int32(static_cast<uint32_t>(v->size())) + *v : int32(0xffffffff)));
  }
  return out + message('C', std::string("SELECT 1") + '\0');
}

class ScriptedServer {
 public:
  // `answers[i]` is sent after the i-th query; past the end the server reads and never answers.
  // With `hang_up`, the server closes the connection after its last answer (as PostgreSQL does
  // after a FATAL).
  explicit ScriptedServer(std::vector<std::string> answers, bool hang_up = false)
      : answers_(std::move(answers)), hang_up_(hang_up) {
    fd_ = listenLoopback(&port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  bool clientClosed() const { return client_closed_; }

 private:
  // Reads exactly n bytes, or false on close, error or stop.
  bool readN(int c, std::string& out, size_t n) {
    out.clear();
    while (out.size() < n) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) == 0) {
        if (stop_) {
          return false;
        }
        continue;
      }
      char buf[4096];
      ssize_t r = ::read(c, buf, std::min(sizeof buf, n - out.size()));
      if (r <= 0) {
        return false;
      }
      out.append(buf, static_cast<size_t>(r));
    }
    return true;
  }
  void serve() {
    int c = -1;
    while (!stop_ && c < 0) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      }
    }
    if (c < 0) {
      return;
    }
    ++connections_;
    std::string head, body;
    if (readN(c, head, 4) &&
        readN(c, body, ntohl(*reinterpret_cast<const uint32_t*>(head.data())) - 4)) {
      std::string hello = message('R', int32(0)) + message('K', int32(42) + int32(7)) + kReady;
      (void)!::write(c, hello.data(), hello.size());
      size_t answered = 0;
      for (;;) {
        if (!readN(c, head, 5)) {
          client_closed_ = !stop_;
          break;
        }
        uint32_t len = ntohl(*reinterpret_cast<const uint32_t*>(head.data() + 1));
        if (!readN(c, body, len - 4)) {
          break;
        }
        if (head[0] == 'X') {
          client_closed_ = true;
          break;
        }
        // A simple query is one 'Q'; an extended one ends with a Sync ('S').
        if ((head[0] == 'Q' || head[0] == 'S') && answered < answers_.size()) {
          const auto& a = answers_[answered++];
          (void)!::write(c, a.data(), a.size());
          if (hang_up_ && answered == answers_.size()) {
            break;
          }
        }
      }
    }
    ::close(c);
    // A cancel request would arrive as a second connection: count them until the test ends.
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        int extra = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (extra >= 0) {
          ++connections_;
          ::close(extra);
        }
      }
    }
  }

  std::vector<std::string> answers_;
  bool hang_up_ = false;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<bool> client_closed_{false};
};

// ---- Blocking ----

TEST(Connection, RefusedPortIsUnavailable) {
  uint16_t port = 0;
  int fd = listenLoopback(&port);
  ::close(fd);  // nobody listens there now
  auto c = Connection::connect(conninfo(port), steady_clock::now() + 5s);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::Unavailable) << c.error().message;
}

TEST(Connection, SilentServerCostsTheConnectDeadlineAndNoMore) {
  uint16_t port = 0;
  int fd = listenLoopback(&port);  // the kernel completes the handshake; nobody answers
  auto began = steady_clock::now();
  auto c = Connection::connect(conninfo(port), began + 300ms);
  auto took = steady_clock::now() - began;
  ::close(fd);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::DeadlineExceeded);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 2s);
}

TEST(Connection, ReturnsRowsWithNullsAndTheWarningsSentWithThem) {
  ScriptedServer server(
      {notice('N', "WARNING", "not replicated") + rows({"a", std::nullopt}) + kReady});
  auto c = Connection::connect(conninfo(server.port()), steady_clock::now() + 5s,
                               ConnectOptions{.print_notices = false});
  ASSERT_TRUE(c) << c.error().message;
  auto r = c->query("select", steady_clock::now() + 5s);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0][0], "a");
  EXPECT_EQ(r->rows[1][0], std::nullopt);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("not replicated"), std::string::npos);
}

TEST(Connection, AnErrorKeepsTheConnectionUsable) {
  ScriptedServer server({notice('E', "ERROR", "syntax error") + kReady, rows({"b"}) + kReady});
  auto c = Connection::connect(conninfo(server.port()), steady_clock::now() + 5s);
  ASSERT_TRUE(c) << c.error().message;
  auto bad = c->query("selec", {}, steady_clock::now() + 5s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::FailedPrecondition);
  EXPECT_NE(bad.error().message.find("syntax error"), std::string::npos);
  EXPECT_FALSE(c->broken());
  auto good = c->query("select", steady_clock::now() + 5s);
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(good->rows.at(0).at(0), "b");
}

TEST(Connection, AFatalAnswerClosesTheConnectionAsOutcomeUnknown) {
  ScriptedServer server({notice('E', "FATAL", "terminating connection")}, /*hang_up=*/true);
  auto c = Connection::connect(conninfo(server.port()), steady_clock::now() + 5s);
  ASSERT_TRUE(c) << c.error().message;
  auto r = c->query("commit", steady_clock::now() + 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Unavailable);
  EXPECT_TRUE(c->broken());
}

TEST(Connection, AMissedQueryDeadlineClosesWithoutACancelRequest) {
  ScriptedServer server({});  // never answers a query
  auto c = Connection::connect(conninfo(server.port()), steady_clock::now() + 5s);
  ASSERT_TRUE(c) << c.error().message;
  auto began = steady_clock::now();
  auto r = c->query("insert", {"1"}, began + 200ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::DeadlineExceeded);
  EXPECT_LT(steady_clock::now() - began, 2s);
  EXPECT_TRUE(c->broken());
  EXPECT_FALSE(c->query("select", steady_clock::now() + 1s));
  // The server sees the connection end (Terminate) and no second connection (a cancel request).
  auto until = steady_clock::now() + 2s;
  while (!server.clientClosed() && steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(server.clientClosed());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.connections(), 1);
}

TEST(Connection, QuotesLiteralsAndIdentifiersOnlyWhileOpen) {
  ScriptedServer server({});
  auto c = Connection::connect(conninfo(server.port()), steady_clock::now() + 5s);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->identifier("a\"b"), "\"a\"\"b\"");
  EXPECT_TRUE(c->literal("it's"));
  c->close();
  EXPECT_EQ(c->literal("x"), std::nullopt);
}

// ---- On an event loop ----

template <typename T>
T runOnLoop(boost::asio::awaitable<T> work) {
  boost::asio::io_context io;
  std::optional<T> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(work)); },
      boost::asio::detached);
  io.run();
  return std::move(*out);
}

TEST(AsyncConnection, SilentServerEndsAtTheDeadlineWithoutBlockingTheLoop) {
  uint16_t port = 0;
  int fd = listenLoopback(&port);
  boost::asio::io_context io;
  std::optional<Result<Connection>> got;
  int ticks = 0;  // another coroutine on the same loop keeps running meanwhile
  auto began = steady_clock::now();
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        got.emplace(co_await asyncConnect(io.get_executor(), conninfo(port), began + 300ms));
      },
      boost::asio::detached);
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer t(io);
        while (!got) {
          ++ticks;
          t.expires_after(10ms);
          co_await t.async_wait(boost::asio::use_awaitable);
        }
      },
      boost::asio::detached);
  io.run();
  ::close(fd);
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code, ErrorCode::DeadlineExceeded);
  EXPECT_LT(steady_clock::now() - began, 2s);
  EXPECT_GE(ticks, 10);
}

TEST(AsyncConnection, QueriesAndReadsRows) {
  ScriptedServer server({rows({"f"}) + kReady});
  auto r = runOnLoop([&]() -> boost::asio::awaitable<Result<Rows>> {
    auto ex = co_await boost::asio::this_coro::executor;
    auto c = co_await asyncConnect(ex, conninfo(server.port()), steady_clock::now() + 5s);
    if (!c) {
      co_return fail(c.error());
    }
    co_return co_await asyncQuery(ex, *c, "select pg_is_in_recovery()", steady_clock::now() + 5s);
  }());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rows.at(0).at(0), "f");
}

TEST(AsyncConnection, AMissedQueryDeadlineClosesTheConnection) {
  ScriptedServer server({});
  auto r = runOnLoop([&]() -> boost::asio::awaitable<Result<Rows>> {
    auto ex = co_await boost::asio::this_coro::executor;
    auto c = co_await asyncConnect(ex, conninfo(server.port()), steady_clock::now() + 5s);
    if (!c) {
      co_return fail(c.error());
    }
    auto rows = co_await asyncQuery(ex, *c, "select", steady_clock::now() + 200ms);
    EXPECT_TRUE(c->broken());
    co_return rows;
  }());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::DeadlineExceeded);
}

}  // namespace
}  // namespace rampart::pq

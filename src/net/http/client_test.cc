// The HTTP client's pooled connections against a scripted loopback server (plain sockets in a
// thread): a request written on a pooled connection that then closes without an answer is sent
// again only when it is replayable, and a pooled connection the server already closed is not
// used at all. The per-endpoint cap against a TLS server that counts the connections it accepts
// (a thread per connection): concurrent requests share at most the cap, and a request waiting
// for one gives up at its deadline.

#include "net/http/client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <signal.h>

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_future.hpp>

#include "net/pki.h"
#include "net/tls.h"
#include "testing/run_loop.h"
#include "testing/test_files.h"

namespace rampart::net::http {
namespace {

using namespace std::chrono_literals;

// One loopback listener; `script(fd, index)` handles the index-th accepted connection.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int fd, int index)> script)
      : script_(std::move(script)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 8), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (int index = 0;; ++index) {
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0 || stopping_) {
          if (fd >= 0) {
            ::close(fd);
          }
          return;
        }
        script_(fd, index);
      }
    });
  }
  ~ScriptedServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_, false}; }

 private:
  std::function<void(int, int)> script_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Reads one request (headers and a Content-Length body); returns its method, "" at EOF.
std::string readRequest(int fd) {
  std::string data;
  char buf[4096];
  while (data.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      return "";
    }
    data.append(buf, static_cast<size_t>(n));
  }
  size_t header_end = data.find("\r\n\r\n") + 4;
  size_t length = 0;
  if (auto at = data.find("Content-Length: "); at != std::string::npos && at < header_end) {
    length = std::stoul(data.substr(at + 16));
  }
  while (data.size() < header_end + length) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      return "";
    }
    data.append(buf, static_cast<size_t>(n));
  }
  return data.substr(0, data.find(' '));
}

void answer(int fd) {
  std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
  ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
}

class HttpClientPool : public ::testing::Test {
 protected:
  Result<Response> fetch(Client& client, const Endpoint& endpoint, const std::string& method) {
    Request request;
    request.method = method;
    request.target = "/x";
    request.body = method == "POST" ? "{}" : "";
    auto replay = method == "GET" ? Client::Replay::Allowed : Client::Replay::Never;
    return testing::runLoop(io_, client.fetch(endpoint, std::move(request),
                                              std::chrono::steady_clock::now() + 5s, replay));
  }

  boost::asio::io_context io_;
};

// The server reads the POST on the pooled connection and closes it unanswered: it may have
// applied it, so the client reports the failure instead of creating twice.
TEST_F(HttpClientPool, AWriteThatGotNoAnswerOnAPooledConnectionIsNotSentAgain) {
  std::atomic<int> posts{0};
  ScriptedServer server([&](int fd, int) {
    for (std::string method = readRequest(fd); !method.empty(); method = readRequest(fd)) {
      if (method == "POST") {
        ++posts;
        break;  // applied, then the connection is lost before the answer
      }
      answer(fd);
    }
    ::close(fd);
  });
  Client client(io_.get_executor());
  ASSERT_TRUE(fetch(client, server.endpoint(), "GET"));
  EXPECT_FALSE(fetch(client, server.endpoint(), "POST"));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(posts.load(), 1);
}

// The same loss for a GET: repeating it changes nothing, so the client tries a fresh connection.
TEST_F(HttpClientPool, AReadThatGotNoAnswerOnAPooledConnectionIsSentAgain) {
  std::atomic<int> gets{0};
  ScriptedServer server([&](int fd, int index) {
    for (std::string method = readRequest(fd); !method.empty(); method = readRequest(fd)) {
      ++gets;
      if (index == 0 && gets == 2) {
        break;  // the first connection dies under the second request
      }
      answer(fd);
    }
    ::close(fd);
  });
  Client client(io_.get_executor());
  ASSERT_TRUE(fetch(client, server.endpoint(), "GET"));
  auto second = fetch(client, server.endpoint(), "GET");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(gets.load(), 3);
}

// A pooled connection the server closed while it was idle is dropped before a write is sent on
// it, so the write goes over a fresh connection and succeeds.
TEST_F(HttpClientPool, AnIdleConnectionTheServerClosedIsNotUsedForAWrite) {
  std::atomic<int> posts{0};
  ScriptedServer server([&](int fd, int) {
    std::string method = readRequest(fd);
    if (method == "POST") {
      ++posts;
    }
    if (!method.empty()) {
      answer(fd);
    }
    ::close(fd);  // one request per connection: the pooled one is closed while idle
  });
  Client client(io_.get_executor());
  ASSERT_TRUE(fetch(client, server.endpoint(), "GET"));
  std::this_thread::sleep_for(100ms);  // the server's FIN arrives
  auto post = fetch(client, server.endpoint(), "POST");
  ASSERT_TRUE(post) << post.error().message;
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(posts.load(), 1);
}

// A loopback HTTPS server, a thread per connection, answering each GET after `delay` on a
// keep-alive connection; counts the connections it accepted and the most open at once.
class CountingTlsServer {
 public:
  CountingTlsServer(const std::string& dir, std::chrono::milliseconds delay) : delay_(delay) {
    // OpenSSL writes with write(2): a peer gone mid-write must fail the write, not kill the test.
    ::signal(SIGPIPE, SIG_IGN);
    EXPECT_TRUE(net::makeCa(dir, "test-ca"));
    net::CertificateSpec spec;
    spec.common_name = "server";
    spec.ip_addresses = {"127.0.0.1"};
    EXPECT_TRUE(net::issueCertificate(dir, spec, dir + "/server.pem", dir + "/server-key.pem"));
    auto context = net::makeServerContext({"", dir + "/server.pem", dir + "/server-key.pem"});
    EXPECT_TRUE(context) << (context ? "" : context.error().message);
    if (context) {
      context_ = *context;
    }
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 64), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~CountingTlsServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_) {
        ::shutdown(fd, SHUT_RDWR);  // wakes its thread's read
      }
    }
    for (auto& t : workers_) {
      t.join();
    }
  }
  Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_, true}; }
  int accepted() const { return accepted_.load(); }
  int mostOpen() const { return most_open_.load(); }
  int answered() const { return answered_.load(); }

 private:
  void acceptLoop() {
    for (;;) {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0 || stopping_) {
        if (fd >= 0) {
          ::close(fd);
        }
        return;
      }
      ++accepted_;
      int now_open = ++open_;
      int seen = most_open_.load();
      while (now_open > seen && !most_open_.compare_exchange_weak(seen, now_open)) {
      }
      std::lock_guard lock(mu_);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    SSL* ssl = SSL_new(context_->native_handle());
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::string data;
      char buf[4096];
      for (;;) {
        size_t end = data.find("\r\n\r\n");
        if (end != std::string::npos) {
          data.erase(0, end + 4);  // a GET: no body
          std::this_thread::sleep_for(delay_);
          std::string response =
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
          // Counted before the write: once the client has the answer, the test may read the
          // count at once, before this thread runs again.
          ++answered_;
          if (SSL_write(ssl, response.data(), static_cast<int>(response.size())) <= 0) {
            break;
          }
          continue;
        }
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) {
          break;
        }
        data.append(buf, static_cast<size_t>(n));
      }
    }
    SSL_free(ssl);
    --open_;
  }

  std::chrono::milliseconds delay_;
  SslContextPtr context_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<int> most_open_{0};
  std::atomic<int> answered_{0};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

Request get() {
  Request request;
  request.method = "GET";
  request.target = "/x";
  return request;
}

TEST(HttpClientCap, ConcurrentRequestsNeverOpenMoreConnectionsThanTheCap) {
  testing::TempDir dir;
  CountingTlsServer server(dir.path(), 20ms);
  boost::asio::io_context io;
  Client client(io.get_executor(), TlsFiles{dir.path() + "/ca.pem"}, ClientOptions{4});
  std::vector<std::future<Result<Response>>> answers;
  for (int i = 0; i < 24; ++i) {
    answers.push_back(boost::asio::co_spawn(
        io, client.fetch(server.endpoint(), get(), std::chrono::steady_clock::now() + 20s),
        boost::asio::use_future));
  }
  io.run();
  for (auto& answer : answers) {
    auto r = answer.get();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_LE(server.accepted(), 4);
  EXPECT_LE(server.mostOpen(), 4);
  // The answered connections were kept: more requests reuse them, no new handshake.
  int before = server.accepted();
  for (int i = 0; i < 5; ++i) {
    auto r = testing::runLoop(
        io, client.fetch(server.endpoint(), get(), std::chrono::steady_clock::now() + 5s));
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(server.accepted(), before);
  EXPECT_EQ(server.answered(), 24 + 5);  // each request once: none was sent twice
}

TEST(HttpClientCap, ARequestWaitingForAConnectionGivesUpAtItsDeadline) {
  testing::TempDir dir;
  CountingTlsServer server(dir.path(), 600ms);
  boost::asio::io_context io;
  Client client(io.get_executor(), TlsFiles{dir.path() + "/ca.pem"}, ClientOptions{1});
  auto slow = boost::asio::co_spawn(
      io, client.fetch(server.endpoint(), get(), std::chrono::steady_clock::now() + 10s),
      boost::asio::use_future);
  auto start = std::chrono::steady_clock::now();
  auto impatient = boost::asio::co_spawn(io, client.fetch(server.endpoint(), get(), start + 150ms),
                                         boost::asio::use_future);
  auto patient = boost::asio::co_spawn(io, client.fetch(server.endpoint(), get(), start + 10s),
                                       boost::asio::use_future);
  io.run();
  auto first = slow.get();
  ASSERT_TRUE(first) << first.error().message;
  auto gave_up = impatient.get();
  ASSERT_FALSE(gave_up);
  EXPECT_EQ(gave_up.error().code, ErrorCode::DeadlineExceeded) << gave_up.error().message;
  auto waited = patient.get();  // got the connection the first handed back
  ASSERT_TRUE(waited) << waited.error().message;
  EXPECT_EQ(server.accepted(), 1);
}

}  // namespace
}  // namespace rampart::net::http

// The HTTP client's pooled connections against a scripted loopback server (plain sockets in a
// thread): a request written on a pooled connection that then closes without an answer is sent
// again only when it is replayable, and a pooled connection the server already closed is not
// used at all.

#include "net/http/client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "testing/run_loop.h"

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

}  // namespace
}  // namespace rampart::net::http

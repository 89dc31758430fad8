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

#include <filesystem>
#include "net/pki.h"
#include "testing/eventually.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

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

TEST_F(HttpServer, TheFallbackAnswersUnroutedPathsWithExtraHeaders) {
  server_.emplace(io_.get_executor());
  server_->fallback([](const Request& r, ResponseStream&) -> boost::asio::awaitable<Response> {
    Response response = Response::json(201, "{\"path\":\"" + r.target + "\"}");
    response.headers.emplace_back("Warning", "299 - \"careful\"");
    co_return response;
  });
  auto bound = server_->listen({"127.0.0.1", 0});
  ASSERT_TRUE(bound);
  port_ = bound->port;
  runLoop();
  auto answer = exchange("GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 201 Created");
  EXPECT_NE(answer.find("Warning: 299 - \"careful\""), std::string::npos) << answer;
  EXPECT_TRUE(answer.ends_with("{\"path\":\"/api/v1/pods?watch=1\"}")) << answer;
}

TEST_F(HttpServer, AStreamedAnswerIsChunkedAndEndsWhenTheHandlerReturns) {
  server_.emplace(io_.get_executor());
  server_->fallback([](const Request&, ResponseStream& out) -> boost::asio::awaitable<Response> {
    std::vector<std::pair<std::string, std::string>> headers{{"X-Kind", "watch"}};
    co_await out.begin(200, "application/json", std::move(headers));
    co_await out.write("{\"n\":1}\n");
    co_await out.write("{\"n\":2}\n");
    co_return Response::text(500, "ignored once streaming\n");
  });
  auto bound = server_->listen({"127.0.0.1", 0});
  ASSERT_TRUE(bound);
  port_ = bound->port;
  runLoop();
  auto answer = exchange("GET /watch HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 200 OK");
  EXPECT_NE(answer.find("Transfer-Encoding: chunked"), std::string::npos) << answer;
  EXPECT_NE(answer.find("X-Kind: watch"), std::string::npos) << answer;
  EXPECT_NE(answer.find("8\r\n{\"n\":1}\n\r\n8\r\n{\"n\":2}\n\r\n"), std::string::npos) << answer;
  EXPECT_TRUE(answer.ends_with("0\r\n\r\n")) << answer;
  EXPECT_EQ(answer.find("ignored"), std::string::npos);
}

TEST_F(HttpServer, AStreamNoticesThatTheClientHungUpWhileNothingIsWritten) {
  std::promise<bool> noticed;
  auto noticed_future = noticed.get_future();
  server_.emplace(io_.get_executor());
  server_->fallback([&noticed](const Request&,
                               ResponseStream& out) -> boost::asio::awaitable<Response> {
    co_await out.begin(200, "application/json", {});
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    for (int i = 0; i < 500 && out.open(); ++i) {  // at most 10 s
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
    noticed.set_value(!out.open());
    co_return Response{};
  });
  auto bound = server_->listen({"127.0.0.1", 0});
  ASSERT_TRUE(bound);
  port_ = bound->port;
  runLoop();
  int fd = connectTo(port_);
  ASSERT_GE(fd, 0);
  sendAll(fd, "GET /watch HTTP/1.1\r\nHost: x\r\n\r\n");
  char buf[512];
  ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);  // the head arrived: the stream is open
  ::close(fd);
  ASSERT_EQ(noticed_future.wait_for(std::chrono::seconds(15)), std::future_status::ready);
  EXPECT_TRUE(noticed_future.get());
}

TEST_F(HttpServer, AStreamToAClientThatStopsReadingIsCutOffAfterTheWriteTimeout) {
  std::promise<int> chunks_written;
  auto written_future = chunks_written.get_future();
  ServerOptions options;
  options.write_timeout = std::chrono::milliseconds(300);
  server_.emplace(io_.get_executor(), options);
  server_->fallback([&chunks_written](const Request&,
                                      ResponseStream& out) -> boost::asio::awaitable<Response> {
    co_await out.begin(200, "application/json", {});
    std::string chunk(64 * 1024, 'x');
    int n = 0;
    while (n < 4096 && co_await out.write(chunk)) {  // at most 256 MiB if never cut
      ++n;
    }
    chunks_written.set_value(n);
    co_return Response{};
  });
  auto bound = server_->listen({"127.0.0.1", 0});
  ASSERT_TRUE(bound);
  port_ = bound->port;
  runLoop();
  int fd = connectTo(port_);
  ASSERT_GE(fd, 0);
  sendAll(fd, "GET /watch HTTP/1.1\r\nHost: x\r\n\r\n");
  // Never reads: the socket buffers fill, then a write waits past the timeout.
  ASSERT_EQ(written_future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  int n = written_future.get();
  EXPECT_LT(n, 4096) << "the stream was never cut off";
  ::close(fd);
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

TEST_F(HttpServer, TheRefusalHookShapesTheAnswerToAnUnreadableRequest) {
  ServerOptions options;
  options.body_limit = 1024;
  options.refusal = [](int status) {
    return Response::json(status, "{\"code\":" + std::to_string(status) + "}");
  };
  start(options);
  runLoop();
  auto answer = exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" +
                         std::string(2048, 'b'));
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 413 Payload Too Large");
  EXPECT_NE(answer.find("Content-Type: application/json"), std::string::npos) << answer;
  EXPECT_NE(answer.find("{\"code\":413}"), std::string::npos) << answer;
}

TEST_F(HttpServer, TheDefaultBodyLimitIs64KiB) {
  start();
  runLoop();
  auto answer = exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n");
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 413 Payload Too Large");
  std::string body(65536, 'c');
  auto fits = exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\nConnection: close\r\n\r\n" +
      body);
  EXPECT_EQ(statusLine(fits), "HTTP/1.1 200 OK") << "a body larger than the read buffer";
  EXPECT_TRUE(fits.ends_with(body));
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

// A lab PKI in a temporary directory: a CA, the server's certificate (127.0.0.1), a member's
// client certificate, and a second CA's client certificate the server does not trust.
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/rampart-https-XXXXXX";
    dir_ = ::mkdtemp(tmpl) ? tmpl : "";
    std::filesystem::create_directories(dir_ + "/ca");
    std::filesystem::create_directories(dir_ + "/other");
    EXPECT_TRUE(makeCa(dir_ + "/ca", "Rampart test CA"));
    EXPECT_TRUE(makeCa(dir_ + "/other", "Someone else's CA"));
    issue("ca", "rampart-server", {"127.0.0.1"}, "server");
    issue("ca", "member-2", {}, "member");
    issue("other", "member-2", {}, "stranger");
  }
  ~Pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string ca() const { return dir_ + "/ca/ca.pem"; }
  std::string cert(const std::string& who) const { return dir_ + "/" + who + ".pem"; }
  std::string key(const std::string& who) const { return dir_ + "/" + who + "-key.pem"; }

 private:
  void issue(const std::string& ca, const std::string& cn, std::vector<std::string> ips,
             const std::string& who) {
    CertificateSpec spec;
    spec.common_name = cn;
    spec.ip_addresses = std::move(ips);
    auto issued = issueCertificate(dir_ + "/" + ca, spec, cert(who), key(who));
    EXPECT_TRUE(issued) << issued.error().message;
  }
  std::string dir_;
};

// One HTTPS request with a blocking client that verifies the server against `pki`'s CA and
// presents `who`'s certificate (none if empty). Returns the response, or "" if the handshake or
// the exchange failed.
std::string httpsExchange(const Pki& pki, uint16_t port, const std::string& who,
                          const std::string& request) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(pki.ca());
  context.set_verify_mode(asio::ssl::verify_peer);
  if (!who.empty()) {
    context.use_certificate_chain_file(pki.cert(who));
    context.use_private_key_file(pki.key(who), asio::ssl::context::pem);
  }
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, context);
  boost::system::error_code ec;
  stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    return "";
  }
  timeval timeout{5, 0};
  ::setsockopt(stream.lowest_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
               sizeof timeout);
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) {
    return "";
  }
  asio::write(stream, asio::buffer(request), ec);
  std::string out;
  char buf[4096];
  while (!ec) {
    size_t n = stream.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
  }
  return out;
}

constexpr const char* kWhoAmI = "GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

class HttpsServer : public HttpServer {
 protected:
  void startTls(const TlsFiles& files) {
    server_.emplace(io_.get_executor());
    server_->route("/whoami", [](const Request& r) {
      return Response::text(200, "<" + r.client_identity + ">");
    });
    auto tls = server_->useTls(files);
    ASSERT_TRUE(tls) << tls.error().message;
    auto bound = server_->listen({"127.0.0.1", 0});
    ASSERT_TRUE(bound) << bound.error().message;
    port_ = bound->port;
    runLoop();
  }
  Pki pki_;
};

TEST_F(HttpsServer, ServesHttpsAndShowsTheVerifiedClientIdentityToHandlers) {
  startTls({pki_.ca(), pki_.cert("server"), pki_.key("server"), ""});
  auto answer = httpsExchange(pki_, port_, "member", kWhoAmI);
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 200 OK");
  EXPECT_TRUE(answer.ends_with("<member-2>")) << answer;
}

TEST_F(HttpsServer, AClientWithoutACertificateIsRefusedWhenACaIsRequired) {
  startTls({pki_.ca(), pki_.cert("server"), pki_.key("server"), ""});
  EXPECT_EQ(httpsExchange(pki_, port_, "", kWhoAmI), "");
  EXPECT_EQ(httpsExchange(pki_, port_, "stranger", kWhoAmI), "") << "signed by another CA";
  // The server counts a failed handshake when its side of it ends, which may be just after the
  // client has seen the connection close.
  EXPECT_TRUE(testing::eventually([&] { return stats().tls_handshake_failures >= 2u; },
                                  std::chrono::seconds(2)))
      << stats().tls_handshake_failures;
  EXPECT_EQ(statusLine(httpsExchange(pki_, port_, "member", kWhoAmI)), "HTTP/1.1 200 OK");
}

TEST_F(HttpsServer, WithoutACaAnyClientIsServedWithNoIdentity) {
  startTls({"", pki_.cert("server"), pki_.key("server"), ""});
  auto answer = httpsExchange(pki_, port_, "", kWhoAmI);
  EXPECT_EQ(statusLine(answer), "HTTP/1.1 200 OK");
  EXPECT_TRUE(answer.ends_with("<>")) << answer;
}

TEST_F(HttpsServer, PlainHttpToAnHttpsServerGetsNoAnswer) {
  startTls({pki_.ca(), pki_.cert("server"), pki_.key("server"), ""});
  EXPECT_EQ(exchange(kWhoAmI).find("HTTP/1.1 200"), std::string::npos);
}

TEST(HttpServerTls, AMissingCertificateFileIsAnErrorNamingIt) {
  boost::asio::io_context io;
  Server server(io.get_executor());
  auto r = server.useTls({"", "/nonexistent/cert.pem", "/nonexistent/key.pem", ""});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/cert.pem"), std::string::npos)
      << r.error().message;
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

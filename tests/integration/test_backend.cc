// test_backend: a real TCP server for the load balancer's tests, one process per backend so a
// test can SIGKILL, SIGSTOP and restart it like a real one.
//
//   test_backend --listen 127.0.0.1:PORT --name NAME --mode http|echo|blackhole [--role-file F]
//                [--tls-cert C --tls-key K]   (http over TLS)
//
// http:      HTTP/1.1 keep-alive. GET /primary answers 200 when the role file says "primary",
//            202 when it says "promoting", 307 when "draining", 503 otherwise (a database
//            member's role endpoint, as Rampart's /primary?promoting answers);
//            any other path answers 200 with the backend's name as the body.
// echo:      echoes every byte; after the client's FIN, sends what is left, then its own FIN.
// greet:     speaks first (like SMTP or MySQL): sends "hello NAME\n" on accept, then echoes.
// blackhole: listens with a backlog of 0 and never accepts: once its queue is full the kernel
//            drops further SYNs, so connects time out, as with a host that is cut off.
// Prints "ready" on stdout once listening.

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string name = "backend";
  std::string mode = "http";
  std::string role_file;
  std::string tls_cert;
  std::string tls_key;
};

std::string role(const Options& o) {
  if (o.role_file.empty()) {
    return "";
  }
  std::ifstream in(o.role_file);
  std::string r;
  in >> r;
  return r;
}

template <typename Stream>
asio::awaitable<void> serveHttp(Stream s, Options o) {
  asio::streambuf buf;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(s, buf, "\r\n\r\n", kTuple);
    if (ec) {
      co_return;
    }
    std::string head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
    buf.consume(n);
    std::istringstream first(head);
    std::string method, path;
    first >> method >> path;
    int status = 200;
    std::string body = o.name;
    if (path.substr(0, path.find('?')) == "/primary") {
      body = role(o);
      status = body == "primary" ? 200 : body == "promoting" ? 202 : body == "draining" ? 307 : 503;
    }
    bool close = head.find("Connection: close") != std::string::npos ||
                 head.find("connection: close") != std::string::npos;
    std::string response = "HTTP/1.1 " + std::to_string(status) +
                           (status == 200   ? " OK"
                            : status == 202 ? " Accepted"
                            : status == 307 ? " Temporary Redirect"
                                            : " Service Unavailable") +
                           "\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\nContent-Type: text/plain\r\n" +
                           (close ? "Connection: close\r\n" : "") + "\r\n" + body;
    auto [wec, w] = co_await asio::async_write(s, asio::buffer(response), kTuple);
    if (wec || close) {
      co_return;
    }
  }
}

asio::awaitable<void> serveEcho(tcp::socket s, std::string greeting = {}) {
  if (!greeting.empty()) {
    auto [gec, g] = co_await asio::async_write(s, asio::buffer(greeting), kTuple);
    if (gec) {
      co_return;
    }
  }
  std::vector<char> buf(256 * 1024);
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kTuple);
    if (ec == asio::error::eof) {
      boost::system::error_code ignored;
      s.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (ec) {
      co_return;
    }
    auto [wec, w] = co_await asio::async_write(s, asio::buffer(buf.data(), n), kTuple);
    if (wec) {
      co_return;
    }
  }
}

asio::awaitable<void> serveTls(tcp::socket s, Options o, asio::ssl::context* ctx) {
  asio::ssl::stream<tcp::socket> tls(std::move(s), *ctx);
  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, kTuple);
  if (ec) {
    co_return;
  }
  co_await serveHttp(std::move(tls), o);
}

asio::awaitable<void> acceptLoop(tcp::acceptor& acceptor, Options o, asio::ssl::context* ctx) {
  for (;;) {
    auto [ec, s] = co_await acceptor.async_accept(kTuple);
    if (ec) {
      continue;
    }
    if (ctx) {
      asio::co_spawn(acceptor.get_executor(), serveTls(std::move(s), o, ctx), asio::detached);
    } else if (o.mode == "echo") {
      asio::co_spawn(acceptor.get_executor(), serveEcho(std::move(s)), asio::detached);
    } else if (o.mode == "greet") {
      asio::co_spawn(acceptor.get_executor(), serveEcho(std::move(s), "hello " + o.name + "\n"),
                     asio::detached);
    } else {
      asio::co_spawn(acceptor.get_executor(), serveHttp(std::move(s), o), asio::detached);
    }
  }
}

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--listen") {
      auto colon = value.rfind(':');
      o.host = value.substr(0, colon);
      o.port = static_cast<unsigned short>(std::stoi(value.substr(colon + 1)));
    } else if (flag == "--name") {
      o.name = value;
    } else if (flag == "--mode") {
      o.mode = value;
    } else if (flag == "--role-file") {
      o.role_file = value;
    } else if (flag == "--tls-cert") {
      o.tls_cert = value;
    } else if (flag == "--tls-key") {
      o.tls_key = value;
    }
  }
  asio::io_context io;
  tcp::endpoint at(asio::ip::make_address(o.host), o.port);
  if (o.mode == "blackhole") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, at.data(), static_cast<socklen_t>(at.size())) != 0 || ::listen(fd, 0) != 0) {
      std::perror("blackhole listen");
      return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    for (;;) {
      ::pause();
    }
  }
  tcp::acceptor acceptor(io);
  acceptor.open(at.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(at);
  acceptor.listen();
  std::unique_ptr<asio::ssl::context> ctx;
  if (!o.tls_cert.empty()) {
    ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file(o.tls_cert);
    ctx->use_private_key_file(o.tls_key, asio::ssl::context::pem);
  }
  asio::co_spawn(io, acceptLoop(acceptor, o, ctx.get()), asio::detached);
  std::printf("ready\n");
  std::fflush(stdout);
  io.run();
}

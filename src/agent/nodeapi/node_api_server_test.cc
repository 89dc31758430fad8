// NodeApiServer on a real loopback socket, with log files in a temporary directory and commands
// run on this host (spawnLocal): the HTTP and WebSocket sides are spoken by Beast clients here.
#include "agent/nodeapi/node_api_server.h"

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include "agent/nodeapi/exec_protocol.h"
#include "agent/nodeapi/local_spawn.h"
#include "net/pki.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart::agent::nodeapi {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

std::string criLine(const std::string& time, const std::string& text, const char* stream = "stdout",
                    const char* tag = "F") {
  return "2026-12-06T21:00:" + time + "Z " + stream + " " + tag + " " + text + "\n";
}

void append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

class NodeApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ref_.pod_uid = "uid-1";
    ref_.container = "app";
    ref_.running = true;
    ref_.pid = ::getpid();
    ref_.log_files = {dir_.path() + "/0.log.1", dir_.path() + "/0.log"};
    ref_.previous_log_files = {dir_.path() + "/prev.log"};
    append(ref_.log_files[0], criLine("01", "one") + criLine("02", "two", "stderr"));
    append(ref_.log_files[1],
           criLine("03", "thr", "stdout", "P") + criLine("04", "ee") + criLine("05", "four"));
    append(ref_.previous_log_files[0], criLine("00", "before the restart"));
    Lookup lookup = [this](const std::string& ns, const std::string& pod,
                           const std::string& container) -> std::optional<ContainerRef> {
      std::lock_guard lock(mutex_);
      if (ns != "default" || pod != "web" || container != "app") {
        return std::nullopt;
      }
      return ref_;
    };
    Spawn spawn = [this](const ContainerRef& ref, std::vector<std::string> argv, int in, int out,
                         int err) {
      auto pid = spawnLocal(ref, std::move(argv), in, out, err);
      if (pid) {
        last_pid_ = *pid;
      }
      return pid;
    };
    NodeApiOptions options;
    options.listen = {"127.0.0.1", 0};
    options.follow_poll = std::chrono::milliseconds(20);
    if (useTls()) {
      // The kubelet's setup: its serving certificate, and the API server's client certificates
      // verified against a CA.
      pki_ = dir_.path() + "/pki";
      std::filesystem::create_directories(pki_ + "/ca");
      ASSERT_TRUE(net::makeCa(pki_ + "/ca", "agent test CA"));
      net::CertificateSpec server;
      server.common_name = "n1";
      server.ip_addresses = {"127.0.0.1"};
      ASSERT_TRUE(net::issueCertificate(pki_ + "/ca", server, pki_ + "/agent.pem",
                                        pki_ + "/agent-key.pem"));
      net::CertificateSpec client;
      client.common_name = "kube-apiserver-kubelet-client";
      ASSERT_TRUE(net::issueCertificate(pki_ + "/ca", client, pki_ + "/client.pem",
                                        pki_ + "/client-key.pem"));
      options.tls =
          net::TlsFiles{pki_ + "/ca/ca.pem", pki_ + "/agent.pem", pki_ + "/agent-key.pem", ""};
    }
    server_ = std::make_unique<NodeApiServer>(io_.get_executor(), lookup, spawn, options);
    auto bound = server_->start();
    ASSERT_TRUE(bound) << bound.error().message;
    port_ = bound->port;
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); });
    work_.reset();
    // Sessions end when their connections close; the loop then runs out of work.
    if (!testing::eventually([this] { return io_.stopped(); }, std::chrono::seconds(10))) {
      io_.stop();
    }
    thread_.join();
    server_.reset();
  }

  void setRunning(bool running) {
    std::lock_guard lock(mutex_);
    ref_.running = running;
  }

  struct Answer {
    int status = 0;
    std::string body;
  };

  Answer get(const std::string& target) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(stream, request);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    beast::error_code ec;
    bhttp::read(stream, buffer, response, ec);
    return {response.result_int(), response.body()};
  }

  // A blocking WebSocket exec client: the frames it got, by channel.
  struct Exec {
    std::string out, err, status;
    std::string protocol;
  };

  std::unique_ptr<websocket::stream<beast::tcp_stream>> openExec(
      asio::io_context& io, const std::string& query,
      const std::string& protocols = "v5.channel.k8s.io, v4.channel.k8s.io",
      std::string* chosen = nullptr) {
    auto ws = std::make_unique<websocket::stream<beast::tcp_stream>>(io);
    beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(20));
    beast::get_lowest_layer(*ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    ws->set_option(websocket::stream_base::decorator([protocols](websocket::request_type& r) {
      r.set(bhttp::field::sec_websocket_protocol, protocols);
    }));
    websocket::response_type response;
    ws->handshake(response, "127.0.0.1", "/exec/default/web/app?" + query);
    if (chosen) {
      *chosen = std::string(response[bhttp::field::sec_websocket_protocol]);
    }
    ws->binary(true);
    return ws;
  }

  static Exec readAll(websocket::stream<beast::tcp_stream>& ws) {
    Exec got;
    for (;;) {
      beast::flat_buffer buffer;
      beast::error_code ec;
      ws.read(buffer, ec);
      if (ec) {
        break;
      }
      std::string message = beast::buffers_to_string(buffer.data());
      auto frame = decodeFrame(message);
      if (!frame) {
        continue;
      }
      std::string data(frame->data);
      (frame->channel == kStdout   ? got.out
       : frame->channel == kStderr ? got.err
                                   : got.status) += data;
    }
    return got;
  }

  virtual bool useTls() const { return false; }

  testing::TempDir dir_;
  std::string pki_;
  std::mutex mutex_;
  ContainerRef ref_;
  std::atomic<pid_t> last_pid_{0};
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::unique_ptr<NodeApiServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(NodeApiServerTest, LogsAreTheTextAcrossRotatedFilesWithTailAndTimestamps) {
  auto all = get("/containerLogs/default/web/app");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.body, "one\ntwo\nthree\nfour\n");
  auto tail = get("/containerLogs/default/web/app?tailLines=2&timestamps=true");
  EXPECT_EQ(tail.body, "2026-12-06T21:00:03Z three\n2026-12-06T21:00:05Z four\n");
  auto previous = get("/containerLogs/default/web/app?previous=true");
  EXPECT_EQ(previous.body, "before the restart\n");
  auto limited = get("/containerLogs/default/web/app?limitBytes=5");
  EXPECT_EQ(limited.body, "one\nt");
}

TEST_F(NodeApiServerTest, UnknownContainerIsNotFoundAndBadOptionsAreBadRequests) {
  auto missing = get("/containerLogs/default/web/db");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "container \"db\" not found in pod \"web\"\n");
  EXPECT_EQ(get("/containerLogs/default/web/app?tailLines=x").status, 400);
  EXPECT_EQ(get("/healthz").body, "ok");
}

TEST_F(NodeApiServerTest, FollowStreamsAppendedLinesAndEndsWhenTheContainerStops) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(20));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  bhttp::request<bhttp::empty_body> request{
      bhttp::verb::get, "/containerLogs/default/web/app?follow=true&tailLines=1", 11};
  bhttp::write(stream, request);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read_header(stream, buffer, parser);
  ASSERT_EQ(parser.get().result_int(), 200);
  std::string seen;
  auto readSome = [&] {
    beast::error_code ec;
    bhttp::read_some(stream, buffer, parser, ec);
    seen = parser.get().body();
    return !ec || ec == bhttp::error::need_buffer;
  };
  while (seen.find("four\n") == std::string::npos && readSome()) {
  }
  EXPECT_EQ(seen, "four\n");
  append(ref_.log_files[1], criLine("06", "five"));
  while (seen.find("five\n") == std::string::npos && readSome()) {
  }
  EXPECT_EQ(seen, "four\nfive\n");
  // Rotation: the newest file renamed away, a new one at its path.
  std::rename(ref_.log_files[1].c_str(), (ref_.log_files[1] + ".2").c_str());
  append(ref_.log_files[1], criLine("07", "six"));
  while (seen.find("six\n") == std::string::npos && readSome()) {
  }
  EXPECT_EQ(seen, "four\nfive\nsix\n");
  setRunning(false);
  while (!parser.is_done() && readSome()) {
  }
  EXPECT_TRUE(parser.is_done());
}

TEST_F(NodeApiServerTest, FollowWaitsForAFileTheContainerHasNotWrittenYet) {
  {
    std::lock_guard lock(mutex_);
    ref_.log_files = {dir_.path() + "/1.log"};
  }
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(20));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get,
                                            "/containerLogs/default/web/app?follow=true", 11};
  bhttp::write(stream, request);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read_header(stream, buffer, parser);
  ASSERT_EQ(parser.get().result_int(), 200);
  append(dir_.path() + "/1.log", criLine("09", "first words"));
  while (parser.get().body().find('\n') == std::string::npos) {
    beast::error_code ec;
    bhttp::read_some(stream, buffer, parser, ec);
    if (ec && ec != bhttp::error::need_buffer) {
      break;
    }
  }
  EXPECT_EQ(parser.get().body(), "first words\n");
}

TEST_F(NodeApiServerTest, ExecSendsStdoutAndStderrThenTheExitCode) {
  asio::io_context io;
  std::string protocol;
  auto ws = openExec(io,
                     "command=sh&command=-c&command=echo+out%3B+echo+err+%3E%262%3B+exit+3&"
                     "stdout=true&stderr=true",
                     "v4.channel.k8s.io, v5.channel.k8s.io", &protocol);
  EXPECT_EQ(protocol, "v5.channel.k8s.io");
  Exec got = readAll(*ws);
  EXPECT_EQ(got.out, "out\n");
  EXPECT_EQ(got.err, "err\n");
  auto status = nlohmann::json::parse(got.status, nullptr, false);
  ASSERT_TRUE(status.is_object()) << got.status;
  EXPECT_EQ(status["reason"], "NonZeroExitCode");
  EXPECT_EQ(status["details"]["causes"][0]["message"], "3");
}

TEST_F(NodeApiServerTest, ExecSuccessAndACommandThatCannotRun) {
  asio::io_context io;
  auto ok = openExec(io, "command=true&stdout=true");
  EXPECT_EQ(nlohmann::json::parse(readAll(*ok).status)["status"], "Success");
  auto missing = openExec(io, "command=/nonexistent/program&stdout=true");
  auto status = nlohmann::json::parse(readAll(*missing).status);
  EXPECT_EQ(status["details"]["causes"][0]["message"], "127");
}

TEST_F(NodeApiServerTest, ExecStdinEndsWithTheV5CloseMessage) {
  asio::io_context io;
  auto ws = openExec(io, "command=cat&stdin=true&stdout=true&stderr=true");
  ws->write(asio::buffer(encodeFrame(kStdin, "piped\n")));
  ws->write(asio::buffer(std::string("\xff\x00", 2)));
  Exec got = readAll(*ws);
  EXPECT_EQ(got.out, "piped\n");
  EXPECT_EQ(nlohmann::json::parse(got.status)["status"], "Success");
}

TEST_F(NodeApiServerTest, ExecWithTtyRunsOnATerminalThatFollowsResizes) {
  asio::io_context io;
  auto ws = openExec(io,
                     "command=sh&command=-c&command=read+x%3B+tty%3B+stty+size&stdin=true&"
                     "stdout=true&tty=true");
  ws->write(asio::buffer(encodeFrame(kResize, R"({"Width":101,"Height":33})")));
  ws->write(asio::buffer(encodeFrame(kStdin, "go\n")));
  Exec got = readAll(*ws);
  EXPECT_NE(got.out.find("/dev/pts/"), std::string::npos) << got.out;
  EXPECT_NE(got.out.find("33 101"), std::string::npos) << got.out;
  EXPECT_EQ(nlohmann::json::parse(got.status)["status"], "Success");
}

TEST_F(NodeApiServerTest, ClientThatLeavesHasItsProcessKilledAndReaped) {
  asio::io_context io;
  auto ws = openExec(io, "command=sleep&command=60&stdout=true");
  ASSERT_TRUE(testing::eventually([&] { return last_pid_.load() > 0; }, std::chrono::seconds(5)));
  pid_t pid = last_pid_;
  EXPECT_EQ(::kill(pid, 0), 0);
  beast::get_lowest_layer(*ws).close();
  // Gone and reaped (not a zombie): kill fails with ESRCH.
  EXPECT_TRUE(testing::eventually([&] { return ::kill(pid, 0) != 0 && errno == ESRCH; },
                                  std::chrono::seconds(10)));
}

TEST_F(NodeApiServerTest, ExecRefusesPlainRequestsAndUnknownSubprotocols) {
  auto plain = get("/exec/default/web/app?command=ls&stdout=true");
  EXPECT_EQ(plain.status, 400);
  EXPECT_EQ(get("/exec/default/web/app?stdout=true").status, 400);
  EXPECT_EQ(get("/exec/default/web/db?command=ls&stdout=true").status, 404);
  asio::io_context io;
  EXPECT_ANY_THROW(openExec(io, "command=ls&stdout=true", "channel.k8s.io"));
  setRunning(false);
  auto stopped = get("/exec/default/web/app?command=ls&stdout=true");
  EXPECT_EQ(stopped.status, 500);
  EXPECT_EQ(stopped.body, "container not found (\"app\")\n");
}

class NodeApiServerTlsTest : public NodeApiServerTest {
 protected:
  bool useTls() const override { return true; }

  // An exec over wss: the server verified against the CA, `client_certificate` presented.
  Result<Exec> execOverTls(bool client_certificate) {
    asio::io_context io;
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.load_verify_file(pki_ + "/ca/ca.pem");
    context.set_verify_mode(asio::ssl::verify_peer);
    if (client_certificate) {
      context.use_certificate_chain_file(pki_ + "/client.pem");
      context.use_private_key_file(pki_ + "/client-key.pem", asio::ssl::context::pem);
    }
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(io, context);
    beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(20));
    beast::error_code ec;
    beast::get_lowest_layer(ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                                        ec);
    if (!ec) {
      ws.next_layer().handshake(asio::ssl::stream_base::client, ec);
    }
    if (!ec) {
      ws.set_option(websocket::stream_base::decorator([](websocket::request_type& r) {
        r.set(bhttp::field::sec_websocket_protocol, "v5.channel.k8s.io");
      }));
      ws.handshake("127.0.0.1", "/exec/default/web/app?command=echo&command=secure&stdout=true",
                   ec);
    }
    if (ec) {
      return fail(ErrorCode::Unavailable, ec.message());
    }
    Exec got;
    for (;;) {
      beast::flat_buffer buffer;
      ws.read(buffer, ec);
      if (ec) {
        break;
      }
      std::string message = beast::buffers_to_string(buffer.data());
      auto frame = decodeFrame(message);
      if (frame) {
        (frame->channel == kStdout ? got.out : got.status) += std::string(frame->data);
      }
    }
    return got;
  }
};

TEST_F(NodeApiServerTlsTest, ExecOverTlsNeedsTheApiServersClientCertificate) {
  auto secure = execOverTls(true);
  ASSERT_TRUE(secure) << secure.error().message;
  EXPECT_EQ(secure->out, "secure\n");
  EXPECT_EQ(nlohmann::json::parse(secure->status)["status"], "Success");
  EXPECT_FALSE(execOverTls(false)) << "a client without a certificate must be refused";
}

}  // namespace
}  // namespace rampart::agent::nodeapi

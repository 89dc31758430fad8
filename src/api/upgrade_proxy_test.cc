// proxyUpgrade between a WebSocket client and a real node agent API (agent/nodeapi) on loopback:
// an http::Server whose handler proxies every request to the agent, as ApiServer does for
// pods/exec. The agent speaks TLS and requires a client certificate, as a kubelet does.
#include "api/upgrade_proxy.h"

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "agent/nodeapi/exec_protocol.h"
#include "agent/nodeapi/local_spawn.h"
#include "agent/nodeapi/node_api_server.h"
#include "net/http/server.h"
#include "net/pki.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart::api {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using namespace agent::nodeapi;

class UpgradeProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pki = dir_.path() + "/pki";
    std::filesystem::create_directories(pki + "/ca");
    ASSERT_TRUE(net::makeCa(pki + "/ca", "kubelet CA"));
    net::CertificateSpec server;
    server.common_name = "n1";
    server.ip_addresses = {"127.0.0.1"};
    ASSERT_TRUE(
        net::issueCertificate(pki + "/ca", server, pki + "/agent.pem", pki + "/agent-key.pem"));
    net::CertificateSpec client;
    client.common_name = "kube-apiserver-kubelet-client";
    ASSERT_TRUE(
        net::issueCertificate(pki + "/ca", client, pki + "/client.pem", pki + "/client-key.pem"));
    kubelet_tls_ = {pki + "/ca/ca.pem", pki + "/client.pem", pki + "/client-key.pem", ""};

    Lookup lookup = [](const std::string&, const std::string& pod,
                       const std::string&) -> std::optional<ContainerRef> {
      if (pod != "web") {
        return std::nullopt;
      }
      return ContainerRef{"uid", "app", {}, {}, true, ::getpid()};
    };
    NodeApiOptions agent_options;
    agent_options.listen = {"127.0.0.1", 0};
    agent_options.tls =
        net::TlsFiles{pki + "/ca/ca.pem", pki + "/agent.pem", pki + "/agent-key.pem", ""};
    agent_ = std::make_unique<NodeApiServer>(io_.get_executor(), lookup, spawnLocal, agent_options);
    auto agent_bound = agent_->start();
    ASSERT_TRUE(agent_bound) << agent_bound.error().message;
    agent_port_ = agent_bound->port;

    proxy_ = std::make_unique<net::http::Server>(io_.get_executor());
    proxy_->fallback([this](const net::http::Request& request, net::http::ResponseStream& out) {
      ExecTarget target{"127.0.0.1", agent_port_, "/exec/default" + request.target};
      UpgradeProxyOptions options;
      options.plain_on_loopback = false;  // TLS to the agent, as to a remote node
      std::function<bool()> stopping = [this] { return stopping_.load(); };
      return proxyUpgrade(io_.get_executor(), kubelet_tls_, target, request, out, stopping,
                          options);
    });
    auto proxy_bound = proxy_->listen({"127.0.0.1", 0});
    ASSERT_TRUE(proxy_bound) << proxy_bound.error().message;
    proxy_port_ = proxy_bound->port;
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    stopping_ = true;
    asio::post(io_, [this] {
      if (proxy_) {
        proxy_->stop();
      }
      if (agent_) {
        agent_->stop();
      }
    });
    work_.reset();
    if (thread_.joinable()) {
      if (!testing::eventually([this] { return io_.stopped(); }, std::chrono::seconds(10))) {
        io_.stop();
      }
      thread_.join();
    }
  }

  std::unique_ptr<websocket::stream<beast::tcp_stream>> open(asio::io_context& io,
                                                             const std::string& target,
                                                             std::string* protocol) {
    auto ws = std::make_unique<websocket::stream<beast::tcp_stream>>(io);
    beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(20));
    beast::get_lowest_layer(*ws).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy_port_));
    ws->set_option(websocket::stream_base::decorator([](websocket::request_type& r) {
      r.set(bhttp::field::sec_websocket_protocol, "v5.channel.k8s.io, v4.channel.k8s.io");
    }));
    websocket::response_type response;
    ws->handshake(response, "127.0.0.1", target);
    *protocol = std::string(response[bhttp::field::sec_websocket_protocol]);
    ws->binary(true);
    return ws;
  }

  // A plain HTTP exchange with the proxy: (status, body).
  std::pair<int, std::string> plainUpgrade(const std::string& target) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(20));
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy_port_));
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, "127.0.0.1");
    request.set(bhttp::field::connection, "Upgrade");
    request.set(bhttp::field::upgrade, "websocket");
    request.set(bhttp::field::sec_websocket_version, "13");
    request.set(bhttp::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    request.set(bhttp::field::sec_websocket_protocol, "v5.channel.k8s.io");
    bhttp::write(stream, request);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    beast::error_code ec;
    bhttp::read(stream, buffer, response, ec);
    return {response.result_int(), response.body()};
  }

  testing::TempDir dir_;
  net::TlsFiles kubelet_tls_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::unique_ptr<NodeApiServer> agent_;
  std::unique_ptr<net::http::Server> proxy_;
  uint16_t agent_port_ = 0;
  uint16_t proxy_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

TEST_F(UpgradeProxyTest, ExecIsSplicedThroughToTheAgentOverTls) {
  asio::io_context io;
  std::string protocol;
  auto ws = open(io, "/web/app?command=cat&stdin=true&stdout=true", &protocol);
  EXPECT_EQ(protocol, "v5.channel.k8s.io");  // the agent's choice, relayed
  ws->write(asio::buffer(encodeFrame(kStdin, "through the proxy\n")));
  ws->write(asio::buffer(std::string("\xff\x00", 2)));
  std::string out, status;
  for (;;) {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws->read(buffer, ec);
    if (ec) {
      break;
    }
    std::string message = beast::buffers_to_string(buffer.data());
    auto frame = decodeFrame(message);
    ASSERT_TRUE(frame);
    (frame->channel == kStdout ? out : status) += std::string(frame->data);
  }
  EXPECT_EQ(out, "through the proxy\n");
  EXPECT_EQ(nlohmann::json::parse(status)["status"], "Success");
}

TEST_F(UpgradeProxyTest, TheAgentsRefusalBecomesAStatusWithItsCode) {
  auto [code, body] = plainUpgrade("/nobody/app?command=ls&stdout=true");
  EXPECT_EQ(code, 404);
  auto status = nlohmann::json::parse(body, nullptr, false);
  ASSERT_TRUE(status.is_object()) << body;
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["message"],
            "unable to upgrade connection: container \"app\" not found in pod \"nobody\"");
}

TEST_F(UpgradeProxyTest, AnUnreachableAgentIsServiceUnavailable) {
  asio::post(io_, [this] { agent_->stop(); });
  ASSERT_TRUE(testing::eventually(
      [&] { return plainUpgrade("/web/app?command=ls&stdout=true").first == 503; },
      std::chrono::seconds(5)));
}

TEST_F(UpgradeProxyTest, AnIdleSessionEndsWhenTheServerStops) {
  asio::io_context io;
  std::string protocol;
  auto ws = open(io, "/web/app?command=sleep&command=60&stdout=true", &protocol);
  stopping_ = true;  // the watchdog closes both sides within about a second
  beast::flat_buffer buffer;
  beast::error_code ec;
  auto start = std::chrono::steady_clock::now();
  ws->read(buffer, ec);
  EXPECT_TRUE(ec);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace rampart::api

// `rampart lb` with real backends: failover under load, black holes, reloads, role checks,
// half-close and large transfers, https checks with a client certificate.

#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>

#include <future>

#include "lb_fixture.h"
#include "net/http/server.h"
#include "net/pki.h"

namespace rampart::lb {
namespace {

using namespace std::chrono_literals;
using testing::LbTest;
using testing::Socket;

TEST_F(LbTest, KillingABackendUnderLoadFailsNoClientAndItReturnsAfterRestart) {
  auto& a = addBackend("a");
  auto& b = addBackend("b");
  auto& c = addBackend("c");
  // lvscare's flags, as an lvscare user would pass them.
  startLb({"--vs", vip_.toString(), "--rs", a.address.toString(), "--rs", b.address.toString(),
           "--rs", c.address.toString(), "--health-path", "/healthz", "--health-schem", "http",
           "--interval", "100ms", "--health-timeout", "100ms"});
  ASSERT_TRUE(eventually([&] { return stateOf(b) == "UP"; }, 2s));

  int failed = 0;
  int served = 0;
  std::map<std::string, int> after_restart;
  bool killed = false;
  bool restarted = false;
  auto killed_at = std::chrono::steady_clock::now();
  Duration marked_down_after{};
  auto start = std::chrono::steady_clock::now();
  // Steady new-connection load for 3 s (bounded): kill b at 0.5 s, restart it at 1.5 s.
  while (std::chrono::steady_clock::now() - start < 3s) {
    auto now = std::chrono::steady_clock::now();
    if (!killed && now - start > 500ms) {
      killBackend(b);
      killed = true;
      killed_at = std::chrono::steady_clock::now();
    }
    if (killed && marked_down_after == Duration{} && stateOf(b) == "DOWN") {
      marked_down_after = std::chrono::steady_clock::now() - killed_at;
    }
    if (killed && !restarted && now - start > 1500ms) {
      startBackend(b);
      restarted = true;
    }
    auto body = requestOnce();
    if (body.empty()) {
      ++failed;
    } else {
      ++served;
      if (restarted) {
        ++after_restart[body];
      }
    }
  }
  EXPECT_EQ(failed, 0) << "a dead backend must cost the client nothing";
  EXPECT_GT(served, 100);
  EXPECT_GT(marked_down_after, Duration{}) << "b was never reported DOWN";
  EXPECT_LT(marked_down_after, 1s) << "fall x interval is 100 ms; passive ejection is immediate";
  EXPECT_GT(after_restart["b"], 0) << "b receives traffic again after it is back";
  auto log = testing::readWholeFile(lb_log_);
  EXPECT_NE(log.find("backend " + b.address.toString() + " DOWN"), std::string::npos) << log;
}

TEST_F(LbTest, BlackHoledBackendIsRetriedElsewhereWithoutClientError) {
  addBackend("a");
  auto& hole = addBackend("hole", "blackhole");
  // Fill the black hole's accept queue (backlog 0, never accepted): further SYNs are dropped.
  std::vector<Socket> fillers;
  for (int i = 0; i < 4; ++i) {
    auto s = Socket::connectTo(hole.address, 100ms);
    if (!s) {
      break;
    }
    fillers.push_back(std::move(s));
  }
  ASSERT_FALSE(Socket::connectTo(hole.address, 200ms)) << "the black hole still accepts";
  // No active checks and no passive ejection: every connection that picks the black hole must
  // time out and be retried on `a` before the client notices.
  startLbWithConfig("virtual_servers:\n  - name: web\n    listen: " + vip_.toString() +
                    "\n    connect_timeout: 150ms\n    passive_ejection: false\n"
                    "    health: {type: none}\n    backends:\n" +
                    backendList({0, 1}));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(requestOnce(), "a") << "request " << i;
  }
  auto st = status();
  uint64_t failures = 0;
  for (const auto& be : st["virtual_servers"][0]["backends"]) {
    if (be["address"] == hole.address.toString()) {
      failures = be["connect_failures"];
    }
  }
  EXPECT_GE(failures, 4u) << "round-robin sent every other connection to the black hole first";
}

TEST_F(LbTest, PassiveEjectionTakesABlackHoleOutAfterOneFailedConnect) {
  addBackend("a");
  auto& hole = addBackend("hole", "blackhole");
  std::vector<Socket> fillers;
  for (int i = 0; i < 4; ++i) {
    if (auto s = Socket::connectTo(hole.address, 100ms)) {
      fillers.push_back(std::move(s));
    }
  }
  startLbWithConfig("virtual_servers:\n  - name: web\n    listen: " + vip_.toString() +
                    "\n    connect_timeout: 150ms\n"
                    "    health: {type: tcp, interval: 10s, timeout: 100ms}\n    backends:\n" +
                    backendList({0, 1}));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(requestOnce(), "a");
  }
  EXPECT_EQ(stateOf(hole), "DOWN");
  EXPECT_NE(testing::readWholeFile(lb_log_).find("client connect failed (connect timed out)"),
            std::string::npos);
}

TEST_F(LbTest, ReloadKeepsEstablishedConnectionsAndABadReloadChangesNothing) {
  addBackend("a");
  auto& b = addBackend("b");
  addBackend("c");
  auto header = "virtual_servers:\n  - name: web\n    listen: " + vip_.toString() +
                "\n    health: {type: http, interval: 100ms}\n    backends:\n";
  startLbWithConfig(header + backendList({0}));
  auto kept = Socket::connectTo(vip_, 2s);
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept.get("/").second, "a");

  std::ofstream(config_file_) << header + backendList({1, 2});
  ASSERT_EQ(::kill(lb_pid_, SIGHUP), 0);
  ASSERT_TRUE(eventually([&] { return stateOf(b) == "UP"; }, 3s))
      << testing::readWholeFile(lb_log_);
  EXPECT_EQ(kept.get("/").second, "a") << "the established connection survives the reload";
  for (int i = 0; i < 6; ++i) {
    auto body = requestOnce();
    EXPECT_TRUE(body == "b" || body == "c") << body;
  }

  std::ofstream(config_file_) << "virtual_servers:\n  - name: web\n    listen: nonsense\n";
  ASSERT_EQ(::kill(lb_pid_, SIGHUP), 0);
  ASSERT_TRUE(eventually(
      [&] { return testing::readWholeFile(lb_log_).find("reload rejected") != std::string::npos; },
      3s));
  EXPECT_NE(testing::readWholeFile(lb_log_).find("virtual_servers[0].listen"), std::string::npos);
  EXPECT_EQ(stateOf(b), "UP");
  auto body = requestOnce();
  EXPECT_TRUE(body == "b" || body == "c") << "the old config keeps serving";
  EXPECT_EQ(kept.get("/").second, "a");
}

TEST_F(LbTest, RoleCheckRoutesOnlyToThePrimaryAndFollowsTheRole) {
  auto& a = addBackend("a");
  auto& b = addBackend("b");
  addBackend("c");
  setRole(a, "primary");
  startLbWithConfig("virtual_servers:\n  - name: write\n    listen: " + vip_.toString() +
                    "\n    on_down: close\n    health:\n      type: http\n      path: /primary\n"
                    "      status: 200\n      interval: 50ms\n      timeout: 100ms\n"
                    "      fall: 1\n      rise: 1\n      initial_state: down\n    backends:\n" +
                    backendList({0, 1, 2}));
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "UP"; }, 2s));
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(requestOnce(), "a") << "only the confirmed primary takes connections";
  }
  auto to_old_primary = Socket::connectTo(vip_, 2s);
  ASSERT_EQ(to_old_primary.get("/").second, "a");

  setRole(a, "replica");
  setRole(b, "primary");
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "DOWN" && stateOf(b) == "UP"; }, 2s));
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(requestOnce(), "b") << "new connections follow the role";
  }
  EXPECT_EQ(to_old_primary.get("/").first, -1) << "on_down: close cut the demoted member's client";
}

TEST_F(LbTest, ADrainingBackendKeepsItsConnectionsAndTakesNoNewOnes) {
  auto& a = addBackend("a");
  auto& b = addBackend("b");
  setRole(a, "primary");
  startLbWithConfig("virtual_servers:\n  - name: write\n    listen: " + vip_.toString() +
                    "\n    on_down: close\n    health:\n      type: http\n"
                    "      path: /primary?promoting\n      status: 200\n"
                    "      draining_status: 307\n      interval: 50ms\n      timeout: 100ms\n"
                    "      fall: 1\n      rise: 1\n      initial_state: down\n    backends:\n" +
                    backendList({0, 1}));
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "UP"; }, 2s));
  auto open = Socket::connectTo(vip_, 2s);
  ASSERT_EQ(open.get("/").second, "a");

  setRole(a, "draining");  // a leader handing over in a switchover
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "DRAINING"; }, 2s))
      << testing::readWholeFile(lb_log_);
  EXPECT_EQ(open.get("/").second, "a") << "on_down: close spares a draining backend's clients";
  EXPECT_EQ(requestOnce(), "") << "no new client goes to a draining backend";
  setRole(b, "primary");
  ASSERT_TRUE(eventually([&] { return stateOf(b) == "UP"; }, 2s));
  EXPECT_EQ(requestOnce(), "b");
  EXPECT_EQ(open.get("/").second, "a");

  setRole(a, "replica");  // the handover is done: a is down now
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "DOWN"; }, 2s));
  EXPECT_EQ(open.get("/").first, -1) << "on_down: close cuts it once it is neither up nor draining";
}

TEST_F(LbTest, CloseStalledCutsTheConnectionsOfAFrozenBackendAndNewOnesGoElsewhere) {
  auto& a = addBackend("a");
  addBackend("b");
  startLbWithConfig("virtual_servers:\n  - name: api\n    listen: " + vip_.toString() +
                    "\n    on_down: close_stalled\n    stalled_after: 300ms\n"
                    "    health:\n      type: http\n      path: /\n      interval: 100ms\n"
                    "      timeout: 100ms\n      fall: 1\n      rise: 1\n    backends:\n" +
                    backendList({0, 1}));
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "UP"; }, 2s));
  // Two keep-alive connections on a: one idle, one that will send a request a cannot answer.
  std::vector<Socket> on_a;
  for (int i = 0; i < 8 && on_a.size() < 2; ++i) {
    auto s = Socket::connectTo(vip_, 5s);
    if (s && s.get("/").second == "a") {
      on_a.push_back(std::move(s));
    }
  }
  ASSERT_EQ(on_a.size(), 2u) << "round-robin gives a every other connection";

  ASSERT_EQ(::kill(a.pid, SIGSTOP), 0);  // frozen: its kernel still accepts, nothing answers
  auto frozen_at = std::chrono::steady_clock::now();
  auto [code, why] = on_a[1].get("/");  // waits until the balancer cuts it (or 5 s)
  auto cut_after = std::chrono::steady_clock::now() - frozen_at;
  EXPECT_EQ(code, -1);
  // Down after one check (interval 100 ms + timeout 100 ms), then 300 ms of silence, swept every
  // 50 ms: ~0.55 s. Without close_stalled it would wait out the socket's 5 s.
  EXPECT_LT(cut_after, 2s) << "the request on the frozen backend was not cut: " << why;
  EXPECT_EQ(on_a[0].get("/").first, -1) << "the idle connection to the frozen backend is cut too";
  EXPECT_EQ(stateOf(a), "DOWN");
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(requestOnce(), "b") << "new connections go to the live backend";
  }
  ::kill(a.pid, SIGCONT);
}

TEST_F(LbTest, CloseStalledKeepsAConnectionTheDownBackendStillServesUntilItFallsSilent) {
  auto& a = addBackend("a");
  auto& b = addBackend("b");
  setRole(a, "primary");
  startLbWithConfig("virtual_servers:\n  - name: api\n    listen: " + vip_.toString() +
                    "\n    on_down: close_stalled\n    stalled_after: 400ms\n"
                    "    health:\n      type: http\n      path: /primary\n      status: 200\n"
                    "      interval: 50ms\n      timeout: 100ms\n      fall: 1\n      rise: 1\n"
                    "      initial_state: down\n    backends:\n" +
                    backendList({0, 1}));
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "UP"; }, 2s));
  auto busy = Socket::connectTo(vip_, 2s);
  ASSERT_EQ(busy.get("/").second, "a");

  setRole(a, "replica");  // a's check fails from now on, but a itself is alive
  setRole(b, "primary");
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "DOWN"; }, 2s));
  for (int i = 0; i < 10; ++i) {  // 1 s of traffic, a answering every 100 ms
    EXPECT_EQ(busy.get("/").second, "a") << "request " << i << ": a live answer is never cut";
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(800ms);  // silent for twice stalled_after
  EXPECT_EQ(busy.get("/").first, -1) << "once silent for stalled_after, the connection is cut";
  EXPECT_EQ(requestOnce(), "b");
}

// retry_unanswered: how many sessions moved on (the admin status' counter).
static uint64_t retriedOf(const nlohmann::json& status) {
  if (!status.is_object()) {
    return 0;
  }
  return status["virtual_servers"][0].value("retried_connections", uint64_t{0});
}

TEST_F(LbTest, RetryUnansweredMovesRequestsAFrozenBackendNeverAnsweredToTheNextBackend) {
  auto& a = addBackend("a");
  addBackend("b");
  startLbWithConfig("virtual_servers:\n  - name: api\n    listen: " + vip_.toString() +
                    "\n    on_down: close_stalled\n    stalled_after: 300ms\n"
                    "    retry_unanswered: true\n"
                    "    health:\n      type: http\n      path: /\n      interval: 100ms\n"
                    "      timeout: 300ms\n      fall: 1\n      rise: 1\n    backends:\n" +
                    backendList({0, 1}));
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "UP"; }, 2s));
  // A keep-alive connection a has already answered on: it is not moved, it is cut.
  Socket answered(-1);
  for (int i = 0; i < 4 && !static_cast<bool>(answered); ++i) {
    auto s = Socket::connectTo(vip_, 5s);
    if (s && s.get("/").second == "a") {
      answered = std::move(s);
    }
  }
  ASSERT_TRUE(static_cast<bool>(answered)) << "round-robin gives a every other connection";

  ASSERT_EQ(::kill(a.pid, SIGSTOP), 0);  // its kernel still accepts; nothing answers
  // New connections before the check notices (≥ 100 ms + 300 ms): round-robin sends every other
  // one to a, whose request then waits unanswered until the stall cut moves it to b.
  std::vector<std::future<std::pair<int, std::string>>> asked;
  for (int i = 0; i < 4; ++i) {
    asked.push_back(std::async(std::launch::async, [this] {
      auto s = Socket::connectTo(vip_, 5s);
      return s ? s.get("/") : std::make_pair(-2, std::string("no connection"));
    }));
  }
  for (auto& f : asked) {
    auto [code, body] = f.get();
    EXPECT_EQ(code, 200) << body;
    EXPECT_EQ(body, "b") << "every request is answered, by the live backend";
  }
  EXPECT_GE(retriedOf(status()), 1u) << "no request was moved: none reached a before its Down";
  EXPECT_EQ(answered.get("/").first, -1) << "a connection a already answered on is not moved";
  ::kill(a.pid, SIGCONT);
}

TEST_F(LbTest, RetryUnansweredMovesARequestWhoseBackendIsKilledBeforeAnswering) {
  auto& a = addBackend("a");
  addBackend("b");
  // Checks every 10 s: only the killed connection, not a check, can say a is gone.
  startLbWithConfig("virtual_servers:\n  - name: api\n    listen: " + vip_.toString() +
                    "\n    retry_unanswered: true\n    passive_ejection: false\n"
                    "    health:\n      type: http\n      path: /\n      interval: 10s\n"
                    "      timeout: 1s\n      fall: 1\n      rise: 1\n    backends:\n" +
                    backendList({0, 1}));
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "UP"; }, 2s));
  ASSERT_EQ(::kill(a.pid, SIGSTOP), 0);
  std::vector<std::future<std::pair<int, std::string>>> asked;
  for (int i = 0; i < 2; ++i) {
    asked.push_back(std::async(std::launch::async, [this] {
      auto s = Socket::connectTo(vip_, 5s);
      return s ? s.get("/") : std::make_pair(-2, std::string("no connection"));
    }));
  }
  std::this_thread::sleep_for(300ms);  // one request is now in a's hands, unanswered
  killBackend(a);                      // its kernel resets the connection
  for (auto& f : asked) {
    auto [code, body] = f.get();
    EXPECT_EQ(code, 200) << body;
    EXPECT_EQ(body, "b");
  }
  EXPECT_GE(retriedOf(status()), 1u);
}

TEST_F(LbTest, WithNoBackendUpEveryBackendIsCheckedAtTheOutageInterval) {
  auto& a = addBackend("a");
  auto& b = addBackend("b");
  setRole(a, "primary");
  // Checks every 30 s normally: b's promotion could only be seen half a minute later, were the
  // outage not checked every 10 ms.
  startLbWithConfig("virtual_servers:\n  - name: write\n    listen: " + vip_.toString() +
                    "\n    on_down: close\n    health:\n      type: http\n      path: /primary\n"
                    "      status: 200\n      interval: 30s\n      outage_interval: 10ms\n"
                    "      timeout: 100ms\n      fall: 1\n      rise: 1\n"
                    "      initial_state: down\n    backends:\n" +
                    backendList({0, 1}));
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "UP" && stateOf(b) == "DOWN"; }, 3s));
  killBackend(a);
  // A client's failed connect to a ejects it (passive health): no backend is up any more, and
  // every backend is checked at once (b: still a replica) and then every 10 ms.
  requestOnce();
  ASSERT_TRUE(eventually([&] { return stateOf(a) == "DOWN"; }, 3s));
  std::this_thread::sleep_for(200ms);
  setRole(b, "primary");
  EXPECT_TRUE(eventually([&] { return stateOf(b) == "UP"; }, 5s))
      << "b was checked again within the outage, not 30 s later";
  EXPECT_EQ(requestOnce(), "b");
}

TEST_F(LbTest, ASecondLoadBalancerOnTheSameAddressIsRefused) {
  addBackend("a");
  startLbWithConfig("virtual_servers:\n  - name: web\n    listen: " + vip_.toString() +
                    "\n    backends:\n" + backendList({0}));
  // SO_REUSEPORT would let the second one bind too, and the kernel split the clients between
  // the two without a word.
  auto second_admin = net::Endpoint{"127.0.0.1", *net::pickFreePort("127.0.0.1")};
  auto second = runtime::runCommand(
      {RAMPART_BINARY, "lb", "-c", config_file_, "--admin", second_admin.toString()}, 10s);
  EXPECT_NE(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find(vip_.toString()), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("another process listens there"), std::string::npos)
      << second.output;
  EXPECT_EQ(requestOnce(), "a") << "the first load balancer still serves";
}

TEST_F(LbTest, HttpsChecksLikeLvscaresDefaultScheme) {
  // A self-signed certificate, as API servers in a lab have; checks do not verify it.
  auto cert = dir_.path() + "/cert.pem";
  auto key = dir_.path() + "/key.pem";
  auto made =
      runtime::runCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                           key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"},
                          30s);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto& tls = addBackend("tls", "http", {"--tls-cert", cert, "--tls-key", key});
  auto& plain = addBackend("plain");
  // No --health-schem: lvscare's default, https.
  startLb({"--vs", vip_.toString(), "--rs", tls.address.toString(), "--rs",
           plain.address.toString(), "--interval", "100ms", "--health-timeout", "500ms"});
  EXPECT_TRUE(eventually([&] { return stateOf(tls) == "UP"; }, 3s));
  EXPECT_TRUE(eventually([&] { return stateOf(plain) == "DOWN"; }, 3s))
      << "a plain-HTTP backend fails the TLS handshake";
}

// Rampart's HTTP server over TLS with client-certificate verification (as a pg member's REST API
// with rest.tls.client_auth serves), on its own event loop thread; stopped with the test.
class ClientAuthServer {
 public:
  Result<net::Endpoint> start(const net::TlsFiles& files) {
    server_.emplace(io_.get_executor());
    server_->route("/primary", [](const net::http::Request& request) {
      return net::http::Response::text(200, "hello " + request.client_identity);
    });
    if (auto r = server_->useTls(files); !r) {
      return fail(r.error());
    }
    auto at = server_->listen(net::Endpoint{"127.0.0.1", 0});
    if (at) {
      thread_ = std::thread([this] { io_.run(); });
    }
    return at;
  }
  ~ClientAuthServer() {
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  boost::asio::io_context io_;
  std::optional<net::http::Server> server_;
  std::thread thread_;
};

TEST_F(LbTest, HttpsCheckWithAClientCertificateFindsABackendThatRequiresOneUpAndWithoutItDown) {
  std::string pki = dir_.path() + "/pki";
  std::filesystem::create_directories(pki);
  ASSERT_TRUE(net::makeCa(pki, "lb test CA"));
  net::CertificateSpec backend_cert;
  backend_cert.common_name = "m1";
  backend_cert.ip_addresses = {"127.0.0.1"};
  ASSERT_TRUE(net::issueCertificate(pki, backend_cert, pki + "/m1.pem", pki + "/m1-key.pem"));
  net::CertificateSpec lb_cert;
  lb_cert.common_name = "lb";
  ASSERT_TRUE(net::issueCertificate(pki, lb_cert, pki + "/lb.pem", pki + "/lb-key.pem"));
  ClientAuthServer server;
  auto backend = server.start(
      net::TlsFiles{.ca = pki + "/ca.pem", .cert = pki + "/m1.pem", .key = pki + "/m1-key.pem"});
  ASSERT_TRUE(backend) << backend.error().message;
  // Two virtual servers checking the same backend, one presenting the lb's certificate, one
  // not; both verify the backend against the CA.
  net::Endpoint second_vip{"127.0.0.100", *net::pickFreePort("127.0.0.100")};
  auto vs = [&](const std::string& name, const net::Endpoint& listen, const std::string& tls) {
    return "  - name: " + name + "\n    listen: " + listen.toString() +
           "\n    health:\n      type: https\n      path: /primary\n      interval: 100ms\n"
           "      timeout: 1s\n      fall: 1\n      rise: 1\n      initial_state: down\n"
           "      tls: " +
           tls + "\n    backends:\n      - address: " + backend->toString() + "\n";
  };
  startLbWithConfig(
      "virtual_servers:\n" +
      vs("with-cert", vip_,
         "{ ca: " + pki + "/ca.pem, cert: " + pki + "/lb.pem, key: " + pki + "/lb-key.pem }") +
      vs("without-cert", second_vip, "{ ca: " + pki + "/ca.pem }"));
  auto backendOf = [&](const std::string& vs_name) {
    auto st = status();
    if (st.is_object()) {
      for (const auto& v : st["virtual_servers"]) {
        if (v["name"] == vs_name && !v["backends"].empty()) {
          return v["backends"][0];
        }
      }
    }
    return nlohmann::json::object();
  };
  EXPECT_TRUE(eventually([&] { return backendOf("with-cert").value("state", "") == "UP"; }, 5s))
      << backendOf("with-cert").dump() << "\n"
      << testing::readWholeFile(lb_log_);
  // Several checks later, the one without a certificate has never passed, and says why.
  std::this_thread::sleep_for(500ms);
  auto without = backendOf("without-cert");
  EXPECT_EQ(without.value("state", ""), "DOWN") << without.dump();
  std::string why = without.value("last_check", "") + " " + without.value("last_error", "");
  EXPECT_NE(why.find("certificate"), std::string::npos) << without.dump();
  EXPECT_EQ(backendOf("with-cert").value("state", ""), "UP") << "it stays up";
}

TEST_F(LbTest, ServerFirstProtocolsGetTheirGreetingThrough) {
  addBackend("smtp", "greet");
  startLbWithConfig("virtual_servers:\n  - name: smtp\n    listen: " + vip_.toString() +
                    "\n    health: {type: tcp, interval: 1s}\n    backends:\n" + backendList({0}));
  auto s = Socket::connectTo(vip_, 2s);
  ASSERT_TRUE(s);
  char buf[64] = {};
  ssize_t n = ::recv(s.fd(), buf, sizeof buf - 1, 0);  // nothing sent: the server speaks first
  ASSERT_GT(n, 0) << "the greeting never arrived";
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "hello smtp\n");
}

TEST_F(LbTest, BackendClosingRightAfterItsAnswerEndsTheClientsConnection) {
  // An HTTP/1.0-style exchange: the backend answers and closes at once, so its answer and its FIN
  // often reach the proxy in one batch. The client reads until EOF (it does not parse
  // Content-Length) and must get both, every time.
  addBackend("web");
  startLbWithConfig("virtual_servers:\n  - name: web\n    listen: " + vip_.toString() +
                    "\n    health: {type: tcp, interval: 1s}\n    backends:\n" + backendList({0}));
  int ended = 0;
  for (int i = 0; i < 200; ++i) {
    auto s = Socket::connectTo(vip_, 2s);  // every read is bounded: 2 s
    ASSERT_TRUE(s);
    ASSERT_TRUE(s.sendAll("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    std::string answer;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(s.fd(), buf, sizeof buf, 0)) > 0) {
      answer.append(buf, static_cast<size_t>(n));
    }
    if (n == 0 && answer.rfind("HTTP/1.1 200", 0) == 0 && answer.ends_with("web")) {
      ++ended;
    }
  }
  EXPECT_EQ(ended, 200) << "connections not ended by the backend's FIN within 2 s";
}

TEST_F(LbTest, HalfCloseAndA100MegabyteTransferPassByteExact) {
  addBackend("echo", "echo");
  startLbWithConfig("virtual_servers:\n  - name: echo\n    listen: " + vip_.toString() +
                    "\n    health: {type: tcp, interval: 1s}\n    backends:\n" + backendList({0}));
  auto s = Socket::connectTo(vip_, 2s);
  ASSERT_TRUE(s);
  constexpr size_t kTotal = 100 * 1024 * 1024;
  auto pattern = [](size_t i) { return static_cast<char>((i * 2654435761u) >> 13); };
  std::atomic<bool> sent_ok{false};
  std::thread writer([&] {
    std::string chunk(256 * 1024, '\0');
    size_t sent = 0;
    bool ok = true;
    while (ok && sent < kTotal) {
      size_t n = std::min(chunk.size(), kTotal - sent);
      for (size_t i = 0; i < n; ++i) {
        chunk[i] = pattern(sent + i);
      }
      ok = s.sendAll(std::string_view(chunk.data(), n));
      sent += n;
    }
    ::shutdown(s.fd(), SHUT_WR);  // half-close: the echo must still come back in full
    sent_ok = ok;
  });
  size_t received = 0;
  size_t mismatches = 0;
  std::vector<char> buf(256 * 1024);
  for (;;) {
    ssize_t n = ::recv(s.fd(), buf.data(), buf.size(), 0);
    if (n <= 0) {
      break;
    }
    for (ssize_t i = 0; i < n; ++i) {
      mismatches += buf[static_cast<size_t>(i)] != pattern(received + static_cast<size_t>(i));
    }
    received += static_cast<size_t>(n);
  }
  writer.join();
  EXPECT_TRUE(sent_ok);
  EXPECT_EQ(received, kTotal) << "everything echoed, and the FIN came back after it";
  EXPECT_EQ(mismatches, 0u);
}

}  // namespace
}  // namespace rampart::lb

namespace rampart::lb {
namespace {

using namespace std::chrono_literals;

class LbEtcdTest : public testing::LbTest {
 protected:
  void SetUp() override {
    lab::EtcdClusterOptions options;
    options.members = 1;
    options.dir = dir_.path() + "/etcd";
    auto cluster = lab::EtcdCluster::start(options);
    ASSERT_TRUE(cluster) << cluster.error().message;
    etcd_ = std::move(*cluster);
    store_ = std::make_unique<store::EtcdStore>(io_.get_executor(),
                                                store::EtcdOptions{etcd_->clientEndpoints(), 2s});
  }
  void put(const std::string& key, const std::string& value) {
    auto r = testing::runLoop(io_, store_->put(store::PutRequest{.key = key, .value = value}));
    ASSERT_TRUE(r) << r.error().message;
  }
  void remove(const std::string& key) {
    auto r = testing::runLoop(io_, store_->deleteRange(store::DeleteRequest{.key = key}));
    ASSERT_TRUE(r) << r.error().message;
  }
  std::set<std::string> servedBy(int requests) {
    std::set<std::string> seen;
    for (int i = 0; i < requests; ++i) {
      seen.insert(requestOnce());
    }
    return seen;
  }

  boost::asio::io_context io_;
  std::unique_ptr<lab::EtcdCluster> etcd_;
  std::unique_ptr<store::EtcdStore> store_;
};

TEST_F(LbEtcdTest, BackendsFollowAnEtcdPrefix) {
  auto& a = addBackend("a");
  auto& b = addBackend("b");
  put("/rampart/lb/web/a", a.address.toString());
  put("/rampart/lb/web/b", R"({"address":")" + b.address.toString() + R"(","weight":1})");
  startLbWithConfig("virtual_servers:\n  - name: web\n    listen: " + vip_.toString() +
                    "\n    health: {type: http, interval: 100ms}\n    backends_from:\n"
                    "      etcd: {endpoints: [" +
                    etcd_->endpointList() + "], prefix: /rampart/lb/web/}\n");
  ASSERT_TRUE(eventually([&] { return servedBy(4) == std::set<std::string>{"a", "b"}; }, 3s));
  remove("/rampart/lb/web/a");
  ASSERT_TRUE(eventually([&] { return servedBy(4) == std::set<std::string>{"b"}; }, 3s))
      << testing::readWholeFile(lb_log_);
  auto& c = addBackend("c");
  put("/rampart/lb/web/c", c.address.toString());
  EXPECT_TRUE(eventually([&] { return servedBy(6) == std::set<std::string>{"b", "c"}; }, 3s));
}

}  // namespace
}  // namespace rampart::lb

// Container probes against the real things: loopback HTTP servers (answering, failing, hanging),
// listening and closed TCP ports, real child processes for exec probes, and the ProbeManager
// driving them on a real event loop with sub-second annotation timing.

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "agent/probe/local_exec.h"
#include "agent/probe/manager.h"
#include "agent/probe/runner.h"
#include "agent/probe/spec.h"
#include "net/http/server.h"
#include "net/pki.h"
#include "net/tls.h"
#include "testing/eventually.h"
#include "testing/loop_until.h"
#include "testing/run_loop.h"
#include "testing/test_files.h"

namespace rampart::agent::probe {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// A loopback HTTP server whose /healthz answers `status` (changed by the test) and counts answers
// per status.
class HealthServer {
 public:
  explicit HealthServer(asio::io_context& io) : server_(io.get_executor()) {
    server_.route("/healthz", [this](const net::http::Request&) {
      ++answered_[status_];
      // 204 and 304 carry no body.
      bool bodiless = status_ == 204 || status_ == 304;
      return net::http::Response::text(status_,
                                       bodiless ? "" : "status " + std::to_string(status_));
    });
    auto bound = server_.listen({"127.0.0.1", 0});
    EXPECT_TRUE(bound) << bound.error().toString();
    port_ = bound ? bound->port : 0;
  }
  ~HealthServer() { server_.stop(); }
  void answer(int status) { status_ = status; }
  int answered(int status) { return answered_[status]; }
  int total() const {
    int n = 0;
    for (auto [status, count] : answered_) {
      n += count;
    }
    return n;
  }
  uint16_t port() const { return port_; }

 private:
  net::http::Server server_;
  uint16_t port_ = 0;
  int status_ = 200;
  std::map<int, int> answered_;
};

// Accepts connections and never answers: a wedged backend.
class HangingServer {
 public:
  explicit HangingServer(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io, accept(), asio::detached);
  }
  ~HangingServer() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& socket : held_) {
      socket->close(ignored);
    }
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  size_t accepted() const { return held_.size(); }

 private:
  asio::awaitable<void> accept() {
    while (acceptor_.is_open()) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) {
        co_return;
      }
      held_.push_back(std::make_unique<tcp::socket>(std::move(socket)));
    }
  }
  tcp::acceptor acceptor_;
  std::vector<std::unique_ptr<tcp::socket>> held_;
};

// The processes of process group `group` that are not zombies, from /proc/<pid>/stat.
std::vector<pid_t> livingInGroup(pid_t group) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream in(entry.path() / "stat");
    std::string line;
    std::getline(in, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t parent = 0;
    pid_t pgrp = 0;
    rest >> state >> parent >> pgrp;
    if (pgrp == group && state != 'Z') {
      found.push_back(std::stoi(name));
    }
  }
  return found;
}

ProbeSpec httpSpec(ProbeKind kind, uint16_t port, Duration period, Duration timeout, int successes,
                   int failures) {
  ProbeSpec spec;
  spec.kind = kind;
  spec.handler = HttpGetAction{"", port, "/healthz", false, {}};
  spec.period = period;
  spec.timeout = timeout;
  spec.success_threshold = successes;
  spec.failure_threshold = failures;
  return spec;
}

struct Change {
  TimePoint at;
  ProbeStatus status;
};

ProbeManager::Options noJitter() {
  ProbeManager::Options options;
  options.jitter = [](Duration) { return Duration{0}; };
  return options;
}

TEST(HttpGetProbe, PassesBelow400AndFailsWithTheStatusCodeFrom400) {
  asio::io_context io;
  HealthServer server(io);
  for (int status : {200, 204, 302, 399}) {
    server.answer(status);
    auto outcome = testing::runLoop(
        io, runHttpGet(io.get_executor(), HttpGetAction{"", server.port(), "/healthz", false, {}},
                       "127.0.0.1", milliseconds(500)));
    EXPECT_TRUE(outcome.success) << status << ": " << outcome.output;
  }
  for (int status : {400, 404, 500, 503}) {
    server.answer(status);
    auto outcome = testing::runLoop(
        io, runHttpGet(io.get_executor(), HttpGetAction{"", server.port(), "/healthz", false, {}},
                       "127.0.0.1", milliseconds(500)));
    EXPECT_FALSE(outcome.success) << status;
    EXPECT_EQ(outcome.output, "HTTP probe failed with statuscode: " + std::to_string(status));
  }
}

TEST(HttpGetProbe, SendsTheProbesHeadersWithAHostOverrideAndTheKubeletsUserAgent) {
  asio::io_context io;
  net::http::Server server(io.get_executor());
  std::string host;
  std::string agent;
  std::string custom;
  server.route("/ready", [&](const net::http::Request& request) {
    host = request.header("Host");
    agent = request.header("User-Agent");
    custom = request.header("X-Probe");
    return net::http::Response::text(200, "ok");
  });
  auto bound = server.listen({"127.0.0.1", 0});
  ASSERT_TRUE(bound) << bound.error().toString();
  HttpGetAction action{
      "", bound->port, "/ready", false, {{"Host", "web.example"}, {"X-Probe", "1"}}};
  auto outcome =
      testing::runLoop(io, runHttpGet(io.get_executor(), action, "127.0.0.1", milliseconds(500)));
  server.stop();
  EXPECT_TRUE(outcome.success) << outcome.output;
  EXPECT_EQ(host, "web.example");
  EXPECT_EQ(agent, "kube-probe/1.32");
  EXPECT_EQ(custom, "1");
}

TEST(HttpGetProbe, HttpsIsSpokenWithoutVerifyingTheCertificate) {
  asio::io_context io;
  testing::TempDir dir;
  // A certificate from a CA nobody trusts, naming another host: the kubelet probes it anyway.
  ASSERT_TRUE(net::makeCa(dir.path(), "probe-test-ca"));
  net::CertificateSpec cert;
  cert.common_name = "elsewhere.invalid";
  cert.dns_names = {"elsewhere.invalid"};
  ASSERT_TRUE(net::issueCertificate(dir.path(), cert, dir.path() + "/server.pem",
                                    dir.path() + "/server-key.pem"));
  net::http::Server server(io.get_executor());
  server.route("/healthz",
               [](const net::http::Request&) { return net::http::Response::text(200, "ok"); });
  net::TlsFiles files;
  files.cert = dir.path() + "/server.pem";
  files.key = dir.path() + "/server-key.pem";
  ASSERT_TRUE(server.useTls(files));
  auto bound = server.listen({"127.0.0.1", 0});
  ASSERT_TRUE(bound) << bound.error().toString();
  auto https = testing::runLoop(
      io, runHttpGet(io.get_executor(), HttpGetAction{"", bound->port, "/healthz", true, {}},
                     "127.0.0.1", milliseconds(2000)));
  EXPECT_TRUE(https.success) << https.output;
  // Plain HTTP to a TLS port fails (the scheme is honoured, not guessed).
  auto plain = testing::runLoop(
      io, runHttpGet(io.get_executor(), HttpGetAction{"", bound->port, "/healthz", false, {}},
                     "127.0.0.1", milliseconds(2000)));
  EXPECT_FALSE(plain.success);
  server.stop();
}

TEST(HttpGetProbe, AServerThatNeverAnswersIsFailedByTheTimeout) {
  asio::io_context io;
  HangingServer server(io);
  auto began = std::chrono::steady_clock::now();
  auto outcome = testing::runLoop(
      io, runHttpGet(io.get_executor(), HttpGetAction{"", server.port(), "/healthz", false, {}},
                     "127.0.0.1", milliseconds(300)));
  auto took = std::chrono::steady_clock::now() - began;
  EXPECT_FALSE(outcome.success);
  EXPECT_EQ(server.accepted(), 1u);  // it did connect: the timeout, not a refusal, failed it
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(1000));
  EXPECT_THAT(outcome.output, HasSubstr("Get \"http://127.0.0.1:" + std::to_string(server.port())));
}

TEST(TcpSocketProbe, PassesAgainstAListeningPortAndFailsOnceItIsClosed) {
  asio::io_context io;
  auto acceptor =
      std::make_unique<tcp::acceptor>(io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0});
  uint16_t port = acceptor->local_endpoint().port();
  auto open = testing::runLoop(io, runTcpSocket(io.get_executor(), TcpSocketAction{"", port},
                                                "127.0.0.1", milliseconds(500)));
  EXPECT_TRUE(open.success) << open.output;
  acceptor.reset();  // the port is closed now
  auto closed = testing::runLoop(io, runTcpSocket(io.get_executor(), TcpSocketAction{"", port},
                                                  "127.0.0.1", milliseconds(500)));
  EXPECT_FALSE(closed.success);
  EXPECT_EQ(closed.output,
            "dial tcp 127.0.0.1:" + std::to_string(port) + ": connect: Connection refused");
}

TEST(ExecProbe, ExitZeroPassesAndANonZeroExitFails) {
  asio::io_context io;
  auto exec = localExec(io.get_executor());
  auto pass =
      testing::runLoop(io, runExec(ExecAction{{"sh", "-c", "exit 0"}}, exec, milliseconds(2000)));
  EXPECT_TRUE(pass.success) << pass.output;
  auto failed =
      testing::runLoop(io, runExec(ExecAction{{"sh", "-c", "exit 1"}}, exec, milliseconds(2000)));
  EXPECT_FALSE(failed.success);
  EXPECT_EQ(failed.output, "command \"sh -c exit 1\" exited with code 1");
  auto missing = testing::runLoop(
      io, runExec(ExecAction{{"/nonexistent/rampart-probe"}}, exec, milliseconds(2000)));
  EXPECT_FALSE(missing.success);
}

TEST(ExecProbe, ACommandThatOutlivesItsTimeoutIsKilledWithItsChildrenAndFails) {
  asio::io_context io;
  testing::TempDir dir;
  std::string pid_file = dir.path() + "/pid";
  auto exec = localExec(io.get_executor());
  // The shell leaves a background child as well: the whole process group must go.
  std::string script = "echo $$ > " + pid_file + "; sleep 30 & sleep 30";
  // The event loop must keep running while the command runs.
  int ticks = 0;
  auto ticker = [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(io);
    for (int i = 0; i < 100; ++i) {
      timer.expires_after(milliseconds(10));
      co_await timer.async_wait(kTuple);
      ++ticks;
    }
  };
  asio::co_spawn(io, ticker(), asio::detached);
  auto began = std::chrono::steady_clock::now();
  auto outcome =
      testing::runLoop(io, runExec(ExecAction{{"sh", "-c", script}}, exec, milliseconds(300)));
  auto took = std::chrono::steady_clock::now() - began;
  EXPECT_FALSE(outcome.success);
  EXPECT_THAT(outcome.output, HasSubstr("timed out"));
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_GE(ticks, 10) << "the event loop was blocked while the command ran";

  pid_t group = 0;
  std::ifstream(pid_file) >> group;
  ASSERT_GT(group, 1);
  // No living process of its group is left (the background sleep, reparented, may stay a zombie
  // for a moment until its new parent reaps it: that is not a running process).
  EXPECT_TRUE(testing::eventually([&] { return livingInGroup(group).empty(); }, milliseconds(500)));
  for (pid_t pid : livingInGroup(group)) {
    ::kill(pid, SIGKILL);  // clean up what the test started, also on failure
  }
}

TEST(ProbeManagerTest, ReadinessFollowsAServerFrom200To500AndBackByTheThresholds) {
  asio::io_context io;
  HealthServer server(io);
  std::vector<Change> changes;
  ProbeManager manager(
      io.get_executor(),
      [&](const std::string& pod, const std::string& container, const ProbeStatus& status) {
        EXPECT_EQ(pod, "uid-1");
        EXPECT_EQ(container, "web");
        changes.push_back({std::chrono::steady_clock::now(), status});
      },
      noJitter());
  ContainerProbeSpecs specs;
  specs.readiness =
      httpSpec(ProbeKind::Readiness, server.port(), milliseconds(50), milliseconds(500), 2, 3);
  auto initial =
      manager.add("uid-1", "web", specs, std::chrono::steady_clock::now(), "127.0.0.1", nullptr);
  EXPECT_TRUE(initial.started);
  EXPECT_FALSE(initial.ready);

  ASSERT_TRUE(testing::loopUntil(io, [&] { return !changes.empty(); }));
  EXPECT_TRUE(changes.back().status.ready);
  EXPECT_EQ(server.answered(200), 2);  // successThreshold 2

  server.answer(500);
  ASSERT_TRUE(testing::loopUntil(io, [&] { return changes.size() == 2; }));
  EXPECT_FALSE(changes.back().status.ready);
  EXPECT_EQ(server.answered(500), 3);  // failureThreshold 3, consecutive
  EXPECT_EQ(changes.back().status.message,
            "Readiness probe failed: HTTP probe failed with statuscode: 500");

  int passes_before = server.answered(200);
  server.answer(200);
  ASSERT_TRUE(testing::loopUntil(io, [&] { return changes.size() == 3; }));
  EXPECT_TRUE(changes.back().status.ready);
  EXPECT_EQ(server.answered(200) - passes_before, 2);

  // Only transitions are reported: a steady state makes no callbacks.
  int probes_before = server.total();
  ASSERT_TRUE(testing::loopUntil(io, [&] { return server.total() >= probes_before + 4; }));
  EXPECT_EQ(changes.size(), 3u);
  EXPECT_EQ(manager.status("uid-1", "web")->ready, true);
}

TEST(ProbeManagerTest, ALivenessFailureIsReportedAtThePeriodOfTheAnnotations) {
  asio::io_context io;
  HealthServer server(io);
  server.answer(500);
  auto pod = json::parse(R"({"metadata": {"annotations": {"rampart.io/probe-period-ms": "100",
      "rampart.io/probe-timeout-ms": "80", "rampart.io/probe-initial-delay-ms": "100"}},
      "spec": {"containers": [{"name": "web",
        "ports": [{"name": "http", "containerPort": )" +
                         std::to_string(server.port()) + R"(}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                          "periodSeconds": 10, "failureThreshold": 3}}]}})");
  auto timing = timingFromAnnotations(pod["metadata"]);
  ASSERT_TRUE(timing) << timing.error().toString();
  auto specs = parseContainerProbes(pod["spec"]["containers"][0], *timing, "spec.containers[0]");
  ASSERT_TRUE(specs) << specs.error().toString();

  std::vector<Change> changes;
  ProbeManager manager(
      io.get_executor(),
      [&](const std::string&, const std::string&, const ProbeStatus& status) {
        changes.push_back({std::chrono::steady_clock::now(), status});
      },
      noJitter());
  auto start = std::chrono::steady_clock::now();
  manager.add("uid-2", "web", *specs, start, "127.0.0.1", nullptr);
  ASSERT_TRUE(testing::loopUntil(io, [&] { return !changes.empty(); }));
  ASSERT_EQ(changes.size(), 1u);
  const auto& change = changes.front();
  EXPECT_TRUE(change.status.restart_needed);
  EXPECT_EQ(change.status.reason, "Unhealthy");
  EXPECT_EQ(change.status.message, "Liveness probe failed: HTTP probe failed with statuscode: 500");
  // Probes at start + 100 (initial delay), 200, 300 ms: the third failure restarts it.
  auto after = change.at - start;
  EXPECT_GE(after, milliseconds(300));
  EXPECT_LT(after, milliseconds(500));  // a 200 ms period would make it 500
  EXPECT_EQ(server.answered(500), 3);

  // On hold until the agent restarts it: no more probes.
  int probes = server.total();
  asio::steady_timer quiet(io, milliseconds(300));
  testing::runLoop(io, [&]() -> asio::awaitable<void> { co_await quiet.async_wait(kTuple); }());
  EXPECT_EQ(server.total(), probes);

  // add() again (the agent restarted it) starts probing over.
  server.answer(200);
  auto restarted =
      manager.add("uid-2", "web", *specs, std::chrono::steady_clock::now(), "127.0.0.1", nullptr);
  EXPECT_FALSE(restarted.restart_needed);
  ASSERT_TRUE(testing::loopUntil(io, [&] { return server.total() >= probes + 2; }));
  EXPECT_EQ(changes.size(), 1u);
}

TEST(ProbeManagerTest, ReadinessIsNotProbedUntilTheStartupProbePasses) {
  asio::io_context io;
  HealthServer server(io);
  testing::TempDir dir;
  std::string marker = dir.path() + "/started";
  std::vector<Change> changes;
  ProbeManager manager(
      io.get_executor(),
      [&](const std::string&, const std::string&, const ProbeStatus& status) {
        changes.push_back({std::chrono::steady_clock::now(), status});
      },
      noJitter());
  ContainerProbeSpecs specs;
  ProbeSpec startup;
  startup.kind = ProbeKind::Startup;
  startup.handler = ExecAction{{"test", "-f", marker}};
  startup.period = milliseconds(50);
  startup.timeout = milliseconds(1000);
  startup.failure_threshold = 1000;
  specs.startup = startup;
  specs.readiness =
      httpSpec(ProbeKind::Readiness, server.port(), milliseconds(200), milliseconds(500), 1, 3);
  auto initial = manager.add("uid-6", "db", specs, std::chrono::steady_clock::now(), "127.0.0.1",
                             localExec(io.get_executor()));
  EXPECT_FALSE(initial.started);
  EXPECT_FALSE(initial.ready);

  asio::steady_timer wait(io, milliseconds(300));
  testing::runLoop(io, [&]() -> asio::awaitable<void> { co_await wait.async_wait(kTuple); }());
  EXPECT_TRUE(changes.empty());
  EXPECT_EQ(server.total(), 0) << "readiness ran before the startup probe passed";

  std::ofstream(marker) << "ok";
  ASSERT_TRUE(testing::loopUntil(io, [&] { return changes.size() == 2; }));
  EXPECT_TRUE(changes[0].status.started);
  EXPECT_FALSE(changes[0].status.ready);
  EXPECT_TRUE(changes[1].status.ready);
  // Readiness ran at once after startup passed, not a period later.
  EXPECT_LT(changes[1].at - changes[0].at, milliseconds(150));
}

TEST(ProbeManagerTest, AnExecLivenessProbeThatTimesOutAsksForARestart) {
  asio::io_context io;
  std::vector<Change> changes;
  ProbeManager manager(
      io.get_executor(),
      [&](const std::string&, const std::string&, const ProbeStatus& status) {
        changes.push_back({std::chrono::steady_clock::now(), status});
      },
      noJitter());
  ContainerProbeSpecs specs;
  ProbeSpec spec;
  spec.kind = ProbeKind::Liveness;
  spec.handler = ExecAction{{"sleep", "5"}};
  spec.period = milliseconds(100);
  spec.timeout = milliseconds(100);
  spec.failure_threshold = 2;
  specs.liveness = spec;
  manager.add("uid-3", "app", specs, std::chrono::steady_clock::now(), "127.0.0.1",
              localExec(io.get_executor()));
  ASSERT_TRUE(testing::loopUntil(io, [&] { return !changes.empty(); }));
  EXPECT_TRUE(changes.front().status.restart_needed);
  EXPECT_THAT(changes.front().status.message, HasSubstr("Liveness probe failed: command"));
  EXPECT_THAT(changes.front().status.message, HasSubstr("timed out"));
}

TEST(ProbeManagerTest, NoCallbackAndNoProbeAfterStop) {
  asio::io_context io;
  HealthServer server(io);
  int callbacks = 0;
  ProbeManager manager(
      io.get_executor(),
      [&](const std::string&, const std::string&, const ProbeStatus&) { ++callbacks; }, noJitter());
  ContainerProbeSpecs specs;
  specs.readiness =
      httpSpec(ProbeKind::Readiness, server.port(), milliseconds(30), milliseconds(500), 1, 1);
  manager.add("uid-4", "web", specs, std::chrono::steady_clock::now(), "127.0.0.1", nullptr);
  ASSERT_TRUE(testing::loopUntil(io, [&] { return callbacks == 1; }));
  manager.stop();
  int probes = server.total();
  server.answer(500);  // would make it unready, were it still probed
  asio::steady_timer quiet(io, milliseconds(200));
  testing::runLoop(io, [&]() -> asio::awaitable<void> { co_await quiet.async_wait(kTuple); }());
  EXPECT_EQ(callbacks, 1);
  EXPECT_LE(server.total(), probes + 1);  // at most the one in flight at stop()
  EXPECT_FALSE(manager.status("uid-4", "web"));
}

TEST(ProbeManagerTest, RemovedContainersAreNoLongerProbed) {
  asio::io_context io;
  HealthServer server(io);
  int callbacks = 0;
  ProbeManager manager(
      io.get_executor(),
      [&](const std::string&, const std::string&, const ProbeStatus&) { ++callbacks; }, noJitter());
  ContainerProbeSpecs specs;
  specs.readiness =
      httpSpec(ProbeKind::Readiness, server.port(), milliseconds(30), milliseconds(500), 1, 1);
  manager.add("uid-5", "web", specs, std::chrono::steady_clock::now(), "127.0.0.1", nullptr);
  ASSERT_TRUE(testing::loopUntil(io, [&] { return callbacks == 1; }));
  manager.remove("uid-5", "web");
  int probes = server.total();
  asio::steady_timer quiet(io, milliseconds(200));
  testing::runLoop(io, [&]() -> asio::awaitable<void> { co_await quiet.async_wait(kTuple); }());
  EXPECT_LE(server.total(), probes + 1);
  EXPECT_EQ(callbacks, 1);
}

}  // namespace
}  // namespace rampart::agent::probe

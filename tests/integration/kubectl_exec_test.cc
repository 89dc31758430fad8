// `kubectl logs` and `kubectl exec` (1.32, the real binary) through `rampart server` to a node
// agent's API: a NodeApiServer in this process on 127.0.0.1 (plain HTTP, as the server uses on
// loopback), whose container is backed by CRI log files this test writes and whose commands run
// on this host (spawnLocal). The Node n1 points at it (InternalIP 127.0.0.1, kubeletEndpoint
// port); the Pod web is bound to n1 and Running.
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "agent/nodeapi/local_spawn.h"
#include "agent/nodeapi/node_api_server.h"
#include "kubectl_fixture.h"

namespace rampart {
namespace {
namespace asio = boost::asio;
using agent::nodeapi::ContainerRef;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

std::string criLine(const std::string& second, const std::string& text) {
  return "2026-12-06T21:00:" + second + ".000000000Z stdout F " + text + "\n";
}

class KubectlExecTest : public testing::KubectlTest {
 protected:
  void SetUp() override {
    KubectlTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    logs_ = dir_.path() + "/containers";
    std::filesystem::create_directories(logs_);
    ref_.pod_uid = "web-uid";
    ref_.container = "app";
    ref_.running = true;
    ref_.pid = ::getpid();
    ref_.log_files = {logs_ + "/1.log.1", logs_ + "/1.log"};
    ref_.previous_log_files = {logs_ + "/0.log"};
    append(ref_.log_files[0], criLine("01", "one") + criLine("02", "two"));
    append(ref_.log_files[1], criLine("03", "three") + criLine("04", "four"));
    append(ref_.previous_log_files[0], criLine("00", "before the restart"));
    agent::nodeapi::Lookup lookup =
        [this](const std::string& ns, const std::string& pod,
               const std::string& container) -> std::optional<ContainerRef> {
      std::lock_guard lock(mutex_);
      if (ns != "default" || pod != "web" || container != "app") {
        return std::nullopt;
      }
      return ref_;
    };
    agent::nodeapi::NodeApiOptions options;
    options.listen = {"127.0.0.1", 0};
    agent_ = std::make_unique<agent::nodeapi::NodeApiServer>(io_.get_executor(), lookup,
                                                             agent::nodeapi::spawnLocal, options);
    auto bound = agent_->start();
    ASSERT_TRUE(bound) << bound.error().message;
    thread_ = std::thread([this] { io_.run(); });

    std::string manifest = R"(apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: n1
  containers: [{name: app, image: busybox:1.36}]
)";
    auto applied = kubectl({"apply", "-f", writeFile("exec.yaml", manifest)});
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
    auto node = kubectl({"patch", "node", "n1", "--subresource=status", "--type=merge", "-p",
                         R"({"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],)"
                         R"("daemonEndpoints":{"kubeletEndpoint":{"Port":)" +
                             std::to_string(bound->port) + "}}}}"});
    ASSERT_EQ(node.exit_code, 0) << node.output;
    auto pod = kubectl({"patch", "pod", "web", "--subresource=status", "--type=merge", "-p",
                        R"({"status":{"phase":"Running"}})"});
    ASSERT_EQ(pod.exit_code, 0) << pod.output;
  }

  void TearDown() override {
    if (agent_) {
      asio::post(io_, [this] { agent_->stop(); });
    }
    work_.reset();
    if (thread_.joinable()) {
      if (!testing::eventually([this] { return io_.stopped(); }, std::chrono::seconds(10))) {
        io_.stop();
      }
      thread_.join();
    }
    agent_.reset();
    KubectlTest::TearDown();
  }

  // kubectl with a terminal: under script(1), which gives it a pty as stdin and stdout.
  testing::Kubectl kubectlOnTerminal(const std::vector<std::string>& args) {
    std::string command = "kubectl --kubeconfig " + servers_.front().kubeconfig + " --cache-dir " +
                          dir_.path() + "/kube-cache";
    for (const auto& a : args) {
      command += " '" + a + "'";
    }
    auto result = runtime::runCommand({"script", "-q", "-e", "-c", command, "/dev/null"},
                                      std::chrono::seconds(30));
    return testing::Kubectl{result.exit_code, result.output};
  }

  void setRunning(bool running) {
    std::lock_guard lock(mutex_);
    ref_.running = running;
  }

  std::string logs_;
  std::mutex mutex_;
  ContainerRef ref_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::unique_ptr<agent::nodeapi::NodeApiServer> agent_;
  std::thread thread_;
};

TEST_F(KubectlExecTest, LogsComeFromTheAgentsCriFilesWithTailTimestampsAndPrevious) {
  auto all = kubectl({"logs", "web"});
  EXPECT_EQ(all.exit_code, 0) << all.output;
  EXPECT_EQ(all.output, "one\ntwo\nthree\nfour");
  auto tail = kubectl(servers_[1].kubeconfig, {"logs", "web", "--tail=2"});
  EXPECT_EQ(tail.output, "three\nfour");
  auto stamped = kubectl({"logs", "web", "--tail=1", "--timestamps"});
  EXPECT_EQ(stamped.output, "2026-12-06T21:00:04.000000000Z four");
  auto previous = kubectl({"logs", "web", "--previous"});
  EXPECT_EQ(previous.exit_code, 0) << previous.output;
  EXPECT_EQ(previous.output, "before the restart");
}

TEST_F(KubectlExecTest, LogsFollowSeesALineAppendedAfterItStarted) {
  std::string out = dir_.path() + "/follow.log";
  auto follow = runtime::spawn(
      runtime::SpawnOptions{{"kubectl", "--kubeconfig", servers_[0].kubeconfig, "--cache-dir",
                             dir_.path() + "/kc-f", "logs", "-f", "web"},
                            out});
  ASSERT_TRUE(follow);
  bool first = testing::eventually([&] { return contains(testing::readWholeFile(out), "four"); },
                                   std::chrono::seconds(15), std::chrono::milliseconds(50));
  EXPECT_TRUE(first) << testing::readWholeFile(out);
  append(ref_.log_files[1], criLine("05", "five, appended"));
  bool appended =
      testing::eventually([&] { return contains(testing::readWholeFile(out), "five, appended"); },
                          std::chrono::seconds(15), std::chrono::milliseconds(50));
  // Still following: it ends only when the test stops it.
  EXPECT_TRUE(runtime::isAlive(*follow));
  runtime::terminate(*follow, std::chrono::seconds(2));
  EXPECT_TRUE(appended) << testing::readWholeFile(out);
  EXPECT_EQ(testing::readWholeFile(out), "one\ntwo\nthree\nfour\nfive, appended\n");
}

TEST_F(KubectlExecTest, ExecRunsTheCommandAndKubectlExitsWithItsCode) {
  auto hi = kubectl({"exec", "web", "--", "echo", "hi"});
  EXPECT_EQ(hi.exit_code, 0) << hi.output;
  EXPECT_EQ(hi.output, "hi");
  auto three = kubectl({"exec", "web", "--", "sh", "-c", "echo bye >&2; exit 3"});
  EXPECT_EQ(three.exit_code, 3) << three.output;
  EXPECT_TRUE(contains(three.output, "bye")) << three.output;
  auto piped = kubectl({"exec", "-i", "web", "--", "cat"}, "piped through\nstdin\n");
  EXPECT_EQ(piped.exit_code, 0) << piped.output;
  EXPECT_EQ(piped.output, "piped through\nstdin");
}

TEST_F(KubectlExecTest, ExecWithATerminalRunsOnAPty) {
  auto tty = kubectlOnTerminal({"exec", "-it", "web", "--", "tty"});
  EXPECT_EQ(tty.exit_code, 0) << tty.output;
  EXPECT_TRUE(contains(tty.output, "/dev/pts/")) << tty.output;
}

TEST_F(KubectlExecTest, ExecRefusalsAreKubernetesErrors) {
  auto wrong = kubectl({"exec", "web", "-c", "db", "--", "ls"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_TRUE(contains(wrong.output, "container db is not valid for pod web")) << wrong.output;
  setRunning(false);
  auto stopped = kubectl({"exec", "web", "--", "ls"});
  EXPECT_NE(stopped.exit_code, 0);
  EXPECT_TRUE(contains(stopped.output, "container not found (\"app\")")) << stopped.output;
}

}  // namespace
}  // namespace rampart

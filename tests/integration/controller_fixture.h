#pragma once
// Integration-test fixture for `rampart controller`: kubectl_fixture.h's etcd x3 and two
// `rampart server`s, plus controller processes (one per server's kubeconfig, so a server can die
// too), each with a fixed identity so the Lease names which process leads. A controller's stdout
// JSON lines ({"event":"acting","monotonic_ns":...}) say when it started acting, on the
// machine's CLOCK_MONOTONIC, which the test compares with the moment it killed the leader.

#include <signal.h>

#include <map>
#include <optional>
#include <sstream>

#include "kubectl_fixture.h"

namespace rampart::testing {

struct ControllerProcess {
  pid_t pid = 0;
  std::string identity;
  std::string log;
};

class ControllerTest : public KubectlTest {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      for (auto& [identity, c] : controllers_) {
        std::string copy = "/tmp/rampart-controller-test-" + identity + ".log";
        std::ofstream(copy) << readWholeFile(c.log);
        std::printf("controller log kept: %s\n", copy.c_str());
      }
    }
    for (auto& [identity, c] : controllers_) {
      if (c.pid > 0 && runtime::isAlive(c.pid)) {
        runtime::terminate(c.pid, std::chrono::seconds(2));
      }
    }
    KubectlTest::TearDown();
  }

  ControllerProcess& startController(const std::string& identity, int server,
                                     std::vector<std::string> extra = {}) {
    ControllerProcess c;
    c.identity = identity;
    c.log = dir_.path() + "/controller-" + identity + ".log";
    std::vector<std::string> argv = {RAMPART_BINARY, "controller", "--kubeconfig",
                                     servers_[static_cast<size_t>(server)].kubeconfig,
                                     "--leader-elect-identity", identity};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto pid = runtime::spawn(runtime::SpawnOptions{argv, c.log});
    EXPECT_TRUE(pid) << (pid ? "" : pid.error().message);
    c.pid = pid ? *pid : 0;
    controllers_[identity] = c;
    return controllers_[identity];
  }

  // The monotonic time of the `event` line (e.g. "acting") of a controller, the n-th one.
  std::optional<int64_t> eventTime(const std::string& identity, const std::string& event,
                                   int nth = 1) {
    std::istringstream lines(readWholeFile(controllers_[identity].log));
    std::string line;
    int seen = 0;
    while (std::getline(lines, line)) {
      if (line.rfind("{\"event\":\"" + event + "\"", 0) != 0) {
        continue;
      }
      auto parsed = nlohmann::json::parse(line, nullptr, false);
      if (!parsed.is_discarded() && ++seen == nth) {
        return parsed["monotonic_ns"].get<int64_t>();
      }
    }
    return std::nullopt;
  }

  std::string leaseHolder() {
    auto got = kubectl({"get", "lease", "-n", "kube-system", "rampart-controller", "-o",
                        "jsonpath={.spec.holderIdentity}"});
    return got.exit_code == 0 ? got.output : "";
  }

  std::map<std::string, ControllerProcess> controllers_;
};

}  // namespace rampart::testing

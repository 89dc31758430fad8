#pragma once
// Integration-test fixture for the Kubernetes-compatible API: a real etcd cluster (3 members)
// on loopback, two `rampart server` processes over it (HTTPS on free ports, one token file, the
// CA made by the first under a shared --cert-dir), one kubeconfig per server, and the real
// kubectl (1.32) run against them with its own discovery cache directory. Everything is
// removed and every process stopped when the test ends, also when it fails.

#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lab/etcd_cluster.h"
#include "runtime/process.h"
#include "testing/eventually.h"
#include "testing/test_files.h"

namespace rampart::testing {

struct Kubectl {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

struct ApiServerProcess {
  pid_t pid = 0;
  uint16_t port = 0;
  std::string kubeconfig;
  std::string log;
};

class KubectlTest : public ::testing::Test {
 protected:
  static constexpr const char* kToken = "rampart-test-admin-token";

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    lab::EtcdClusterOptions options;
    options.members = 3;
    options.dir = dir_.path() + "/etcd";
    auto cluster = lab::EtcdCluster::start(options);
    ASSERT_TRUE(cluster) << cluster.error().message;
    etcd_ = std::move(*cluster);
    std::ofstream(dir_.path() + "/tokens.csv")
        << kToken << ",admin,admin-uid,\"system:masters\"\n"
        << "other-token,alice,alice-uid\n";
    for (int i = 0; i < 2; ++i) {
      auto server = startServer(i);
      ASSERT_TRUE(server.pid > 0) << testing::readWholeFile(server.log);
      servers_.push_back(server);
    }
  }

  void TearDown() override {
    if (agent_pid_ > 0) {
      runtime::terminate(agent_pid_, std::chrono::seconds(2));
    }
    for (auto& server : servers_) {
      if (server.pid > 0) {
        runtime::terminate(server.pid, std::chrono::seconds(2));
      }
    }
    etcd_.reset();
  }

  std::string etcdServers() const {
    std::string list;
    for (const auto& endpoint : etcd_->clientEndpoints()) {
      list += (list.empty() ? "" : ",") + std::string("http://") + endpoint.toString();
    }
    return list;
  }

  // Starts server `index` and waits until it is ready (its kubeconfig written, /readyz ok).
  ApiServerProcess startServer(int index) {
    ApiServerProcess server;
    server.kubeconfig = dir_.path() + "/kubeconfig-" + std::to_string(index);
    server.log = dir_.path() + "/server-" + std::to_string(index) + ".log";
    std::vector<std::string> argv = {RAMPART_BINARY,     "server",
                                     "--etcd-servers",   etcdServers(),
                                     "--bind-address",   "127.0.0.1",
                                     "--secure-port",    "0",
                                     "--token-auth-file", dir_.path() + "/tokens.csv",
                                     "--cert-dir",       dir_.path() + "/pki",
                                     "--write-kubeconfig", server.kubeconfig};
    argv.insert(argv.end(), server_flags_.begin(), server_flags_.end());
    auto pid = runtime::spawn(runtime::SpawnOptions{argv, server.log});
    if (!pid) {
      return server;
    }
    bool serving = eventually(
        [&] {
          std::string log = testing::readWholeFile(server.log);
          auto at = log.find("{\"event\":\"serving\"");
          if (at == std::string::npos) {
            return false;
          }
          auto line = nlohmann::json::parse(log.substr(at, log.find('\n', at) - at), nullptr,
                                            false);
          if (line.is_discarded()) {
            return false;
          }
          server.port = line["port"].get<uint16_t>();
          return true;
        },
        std::chrono::seconds(10));
    bool ready = serving && eventually(
                                [&] {
                                  return kubectl(server.kubeconfig, {"get", "--raw", "/readyz"})
                                             .output == "ok";
                                },
                                std::chrono::seconds(10), std::chrono::milliseconds(50));
    if (!ready) {
      runtime::terminate(*pid, std::chrono::seconds(1));
      return server;
    }
    server.pid = *pid;
    return server;
  }

  Kubectl kubectl(const std::string& kubeconfig, std::vector<std::string> args,
                  const std::string& stdin_text = "",
                  Duration timeout = std::chrono::seconds(30)) {
    args.insert(args.begin(), {"kubectl", "--kubeconfig", kubeconfig, "--cache-dir",
                               dir_.path() + "/kube-cache"});
    auto result = runtime::runCommand(args, timeout, stdin_text);
    return Kubectl{result.exit_code, result.output};
  }

  // kubectl against the first server.
  Kubectl kubectl(std::vector<std::string> args, const std::string& stdin_text = "") {
    return kubectl(servers_.front().kubeconfig, std::move(args), stdin_text);
  }

  std::string writeFile(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // Starts `rampart agent --simulate n` (renewing every 200 ms) against the first server; waits
  // for its "registered" event. TearDown stops it.
  void startSimulatedAgent(int n, const std::string& zones) {
    agent_log_ = dir_.path() + "/agent.log";
    std::vector<std::string> argv = {RAMPART_BINARY, "agent", "--kubeconfig",
                                     servers_.front().kubeconfig, "--simulate", std::to_string(n),
                                     "--zones", zones, "--lease-renew-interval", "200ms"};
    auto pid = runtime::spawn(runtime::SpawnOptions{argv, agent_log_});
    ASSERT_TRUE(pid) << pid.error().message;
    agent_pid_ = *pid;
    ASSERT_TRUE(eventually(
        [&] {
          return readWholeFile(agent_log_).find("{\"event\":\"registered\"") != std::string::npos;
        },
        std::chrono::seconds(20)))
        << readWholeFile(agent_log_);
  }

  // Extra flags for every `rampart server` (a derived fixture sets them in its constructor).
  std::vector<std::string> server_flags_;
  TempDir dir_;
  std::unique_ptr<lab::EtcdCluster> etcd_;
  std::vector<ApiServerProcess> servers_;
  pid_t agent_pid_ = 0;  // startSimulatedAgent's
  std::string agent_log_;
};

}  // namespace rampart::testing

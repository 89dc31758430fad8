#pragma once
// A live lab for the node benches (node_failover, pod_startup): etcd ×3, one `rampart server`,
// one `rampart controller` and N real `rampart agent`s (root) on loopback, each agent in its own
// root dir with zones a, b, c round-robin, plus a synchronous API client for polling. Everything
// it started is stopped, and every pod process removed, when it goes. Blocking; benches only.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "kube/http_client.h"
#include "kube/kubeconfig.h"
#include "lab/etcd_cluster.h"
#include "runtime/process.h"
#include "testing/agent_cgroups.h"

namespace rampart::bench {

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename Pred>
bool waitFor(Pred pred, Duration limit, Duration step = std::chrono::milliseconds(10)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(step);
  }
  return pred();
}

// One synchronous API call at a time on a private loop (benches poll; they need no watch).
class Api {
 public:
  explicit Api(const std::string& kubeconfig) {
    auto config = kube::loadKubeConfig(kubeconfig);
    kube::HttpClientOptions options;
    options.request_timeout = std::chrono::seconds(5);
    if (config) {
      auto client = kube::HttpClient::make(io_.get_executor(), *config, options);
      if (client) {
        client_ = std::move(*client);
      }
    }
  }
  bool ok() const { return client_ != nullptr; }
  // The answer's body when it is a success, else null.
  nlohmann::json call(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    io_.restart();
    auto call = [this, method, target, body]() -> boost::asio::awaitable<nlohmann::json> {
      kube::Client& client = *client_;
      auto reply = co_await client.call(method, target, body);
      co_return reply && reply->ok() ? reply->body : nlohmann::json();
    };
    auto f = boost::asio::co_spawn(io_, call(), boost::asio::use_future);
    io_.run();
    return f.get();
  }
  nlohmann::json get(const std::string& target) { return call("GET", target); }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<kube::HttpClient> client_;
};

struct LabAgent {
  std::string name;
  std::string zone;
  std::string root;
  std::string log;
  pid_t pid = 0;
};

class AgentLab {
 public:
  // `controller_flags` are added to `rampart controller --kubeconfig F`.
  AgentLab(const std::string& name, int nodes, std::vector<std::string> controller_flags) {
    char tmpl[64];
    std::snprintf(tmpl, sizeof tmpl, "/tmp/rampart-%s-XXXXXX", name.c_str());
    dir_ = ::mkdtemp(tmpl) ? tmpl : "";
    ::chmod(dir_.c_str(), 0755);
    lab::EtcdClusterOptions options;
    options.members = 3;
    options.dir = dir_ + "/etcd";
    auto etcd = lab::EtcdCluster::start(options);
    if (!etcd) {
      error_ = "etcd: " + etcd.error().message;
      return;
    }
    etcd_ = std::move(*etcd);
    std::ofstream(dir_ + "/tokens.csv") << "bench-token,admin,admin-uid,\"system:masters\"\n";
    kubeconfig_ = dir_ + "/kubeconfig";
    std::string server_log = dir_ + "/server.log";
    auto server = runtime::spawn(runtime::SpawnOptions{
        {RAMPART_BINARY, "server", "--etcd-servers", etcd_->endpointList(), "--bind-address",
         "127.0.0.1", "--secure-port", "0", "--token-auth-file", dir_ + "/tokens.csv",
         "--cert-dir", dir_ + "/pki", "--write-kubeconfig", kubeconfig_},
        server_log});
    server_ = server ? *server : 0;
    if (!server || !waitFor([&] { return readFile(server_log).find("\"serving\"") != std::string::npos; },
                            std::chrono::seconds(15))) {
      error_ = "rampart server did not start: " + readFile(server_log);
      return;
    }
    std::vector<std::string> argv = {RAMPART_BINARY, "controller", "--kubeconfig", kubeconfig_};
    argv.insert(argv.end(), controller_flags.begin(), controller_flags.end());
    auto controller = runtime::spawn(runtime::SpawnOptions{argv, dir_ + "/controller.log"});
    controller_ = controller ? *controller : 0;
    const char* zones[] = {"a", "b", "c"};
    for (int i = 0; i < nodes; ++i) {
      LabAgent a;
      a.name = name + "-" + std::to_string(::getpid()) + "-" + std::to_string(i);
      a.zone = zones[i % 3];
      a.root = dir_ + "/agent-" + std::to_string(i);
      a.log = dir_ + "/agent-" + std::to_string(i) + ".log";
      agents_.push_back(a);
      if (!startAgent(agents_.back())) {
        error_ = "agent " + a.name + " did not start: " + readFile(a.log);
        return;
      }
    }
    api_ = std::make_unique<Api>(kubeconfig_);
  }

  ~AgentLab() {
    for (auto& a : agents_) {
      if (a.pid > 0) {
        ::kill(a.pid, SIGCONT);
        runtime::terminate(a.pid, std::chrono::seconds(2));
      }
      testing::killNodePods(a.name);
    }
    if (controller_ > 0) {
      runtime::terminate(controller_, std::chrono::seconds(2));
    }
    if (server_ > 0) {
      runtime::terminate(server_, std::chrono::seconds(2));
    }
    etcd_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Starts (or restarts) an agent and waits for its "ready" line.
  bool startAgent(LabAgent& a) {
    size_t before = readyLines(a);
    auto pid = runtime::spawn(runtime::SpawnOptions{
        {RAMPART_BINARY, "agent", "--kubeconfig", kubeconfig_, "--node-name", a.name,
         "--node-ip", "127.0.0.1", "--root-dir", a.root, "--port", "0", "--labels",
         "topology.kubernetes.io/zone=" + a.zone},
        a.log, "", true, true});
    a.pid = pid ? *pid : 0;
    return pid && waitFor([&] { return readyLines(a) > before; }, std::chrono::seconds(20));
  }

  const std::string& error() const { return error_; }
  std::vector<LabAgent>& agents() { return agents_; }
  Api& api() { return *api_; }
  const std::string& dir() const { return dir_; }

 private:
  static size_t readyLines(const LabAgent& a) {
    std::string log = readFile(a.log);
    size_t n = 0;
    for (size_t at = log.find("{\"event\":\"ready\""); at != std::string::npos;
         at = log.find("{\"event\":\"ready\"", at + 1)) {
      ++n;
    }
    return n;
  }

  std::string dir_;
  std::string error_;
  std::unique_ptr<lab::EtcdCluster> etcd_;
  std::string kubeconfig_;
  pid_t server_ = 0;
  pid_t controller_ = 0;
  std::vector<LabAgent> agents_;
  std::unique_ptr<Api> api_;
};

// "Ready" condition True and not being deleted.
inline bool podReady(const nlohmann::json& pod) {
  if (pod["metadata"].contains("deletionTimestamp")) {
    return false;
  }
  for (const auto& c : pod["status"].value("conditions", nlohmann::json::array())) {
    if (c.value("type", "") == "Ready") {
      return c.value("status", "") == "True";
    }
  }
  return false;
}

}  // namespace rampart::bench

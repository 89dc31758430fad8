#pragma once
// Load-balancer test fixture: real backend processes (test_backend), a real `rampart lb`
// process, blocking loopback clients with deadlines, and the lb's /status. Every process is
// started with PDEATHSIG and stopped in TearDown; every wait is bounded.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "etcd_fixture.h"
#include "net/endpoint.h"
#include "runtime/process.h"
#include "test_socket.h"
#include "testing/eventually.h"

namespace rampart::testing {

class LbTest : public ::testing::Test {
 protected:
  struct Backend {
    std::string name;
    std::string mode;
    net::Endpoint address;
    std::string role_file;
    std::string log;
    std::vector<std::string> extra;  // more test_backend flags
    pid_t pid = 0;
  };

  void TearDown() override {
    if (lb_pid_) {
      runtime::terminate(lb_pid_, std::chrono::seconds(3));
    }
    for (auto& b : backends_) {
      if (b.pid) {
        ::kill(b.pid, SIGCONT);
        runtime::terminate(b.pid, std::chrono::seconds(2));
      }
    }
  }

  // Starts a backend process and waits until it listens.
  Backend& addBackend(const std::string& name, const std::string& mode = "http",
                      std::vector<std::string> extra = {}) {
    Backend b;
    b.name = name;
    b.mode = mode;
    b.address = {"127.0.0.1", *net::pickFreePort("127.0.0.1")};
    b.role_file = dir_.path() + "/" + name + ".role";
    std::ofstream(b.role_file) << "replica\n";
    b.extra = std::move(extra);
    backends_.push_back(b);
    startBackend(backends_.back());
    return backends_.back();
  }

  void startBackend(Backend& b) {
    b.log = dir_.path() + "/" + b.name + ".log";
    std::vector<std::string> argv = {TEST_BACKEND, "--listen",    b.address.toString(),
                                     "--name",     b.name,        "--mode",
                                     b.mode,       "--role-file", b.role_file};
    argv.insert(argv.end(), b.extra.begin(), b.extra.end());
    auto pid = runtime::spawn(runtime::SpawnOptions{argv, b.log});
    ASSERT_TRUE(pid);
    b.pid = *pid;
    for (int i = 0; i < 200 && readWholeFile(b.log).find("ready") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_NE(readWholeFile(b.log).find("ready"), std::string::npos) << b.log;
  }

  void killBackend(Backend& b) {
    ::kill(b.pid, SIGKILL);
    runtime::waitExit(b.pid, std::chrono::seconds(5));
    b.pid = 0;
  }

  // Written beside and renamed over, so a check polling every few milliseconds never reads the
  // truncated, empty file (an empty role answers 503: the backend would flap DOWN).
  void setRole(Backend& b, const std::string& role) {
    std::string tmp = b.role_file + ".tmp";
    std::ofstream(tmp) << role << "\n";
    std::rename(tmp.c_str(), b.role_file.c_str());
  }

  // Starts `rampart lb` with `args` and waits until its admin port answers /readyz.
  void startLb(std::vector<std::string> args) {
    admin_ = {"127.0.0.1", *net::pickFreePort("127.0.0.1")};
    args.insert(args.begin(), {RAMPART_BINARY, "lb"});
    args.push_back("--admin");
    args.push_back(admin_.toString());
    lb_log_ = dir_.path() + "/lb.log";
    auto pid = runtime::spawn(runtime::SpawnOptions{args, lb_log_});
    ASSERT_TRUE(pid);
    lb_pid_ = *pid;
    for (int i = 0; i < 200; ++i) {
      auto s = Socket::connectTo(admin_, std::chrono::milliseconds(200));
      if (s && s.get("/readyz").first == 200) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "rampart lb did not become ready:\n" << readWholeFile(lb_log_);
  }

  void startLbWithConfig(const std::string& yaml) {
    config_file_ = dir_.path() + "/lb.yaml";
    std::ofstream(config_file_) << yaml;
    startLb({"-c", config_file_});
  }

  std::string backendList(std::initializer_list<size_t> which) {
    std::string out;
    for (size_t i : which) {
      out += "      - address: " + backends_[i].address.toString() + "\n";
    }
    return out;
  }

  nlohmann::json status() {
    auto s = Socket::connectTo(admin_, std::chrono::seconds(1));
    if (!s) {
      return {};
    }
    auto [code, body] = s.get("/status");
    return code == 200 ? nlohmann::json::parse(body, nullptr, false) : nlohmann::json{};
  }

  // State of one backend ("UP", "DOWN", "UNKNOWN") as the lb reports it.
  std::string stateOf(const Backend& b) {
    auto st = status();
    if (!st.is_object()) {
      return "?";
    }
    for (const auto& vs : st["virtual_servers"]) {
      for (const auto& be : vs["backends"]) {
        if (be["address"] == b.address.toString()) {
          return be["state"];
        }
      }
    }
    return "absent";
  }

  // Waits (bounded) until `pred` holds; returns whether it did.
  template <typename Pred>
  bool eventually(Pred pred, Duration limit) {
    return rampart::testing::eventually(std::move(pred), limit);
  }

  // One request on a new connection through the virtual server: the body, or "" on failure.
  std::string requestOnce(const std::string& path = "/") {
    auto s = Socket::connectTo(vip_, std::chrono::seconds(2));
    if (!s) {
      return "";
    }
    auto [code, body] = s.get(path);
    return code == 200 ? body : "";
  }

  TempDir dir_;
  std::deque<Backend> backends_;  // deque: references stay valid as backends are added
  net::Endpoint vip_{"127.0.0.100", *net::pickFreePort("127.0.0.100")};
  net::Endpoint admin_;
  pid_t lb_pid_ = 0;
  std::string lb_log_;
  std::string config_file_;
};

}  // namespace rampart::testing

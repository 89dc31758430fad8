#include "agent/services/service_proxy.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <boost/asio/post.hpp>

#include "base/log.h"
#include "lb/load_balancer.h"
#include "runtime/process.h"

namespace rampart::agent::services {
namespace asio = boost::asio;

namespace {

std::set<std::string> vipsOf(const lb::LbConfig& config) {
  std::set<std::string> out;
  for (const auto& vs : config.virtual_servers) {
    if (!vs.vip_interface.empty()) {
      out.insert(vs.listen.host + "@" + vs.vip_interface);
    }
  }
  return out;
}

// "10.96.0.20@lo" -> {address, interface}; false for anything else (a damaged file must not
// name an arbitrary `ip` argument).
bool parseVip(const std::string& line, std::string* address, std::string* interface) {
  auto at = line.find('@');
  if (at == std::string::npos) {
    return false;
  }
  *address = line.substr(0, at);
  *interface = line.substr(at + 1);
  in_addr addr{};
  bool name_ok = !interface->empty() && interface->size() < IFNAMSIZ &&
                 interface->find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                     std::string::npos;
  return name_ok && ::inet_pton(AF_INET, address->c_str(), &addr) == 1;
}

}  // namespace

ServiceProxy::ServiceProxy(metrics::Registry& registry, std::string state_file)
    : registry_(registry),
      work_(asio::make_work_guard(io_)),
      balancer_(std::make_unique<lb::LoadBalancer>(io_, registry_)),
      state_file_(std::move(state_file)) {
  asio::post(io_, [this] { releaseLeftovers(); });
  thread_ = std::thread([this] { io_.run(); });
}

void ServiceProxy::releaseLeftovers() {
  if (state_file_.empty()) {
    return;
  }
  std::ifstream in(state_file_);
  std::string line;
  int released = 0;
  while (std::getline(in, line)) {
    std::string address;
    std::string interface;
    if (!parseVip(line, &address, &interface)) {
      continue;
    }
    // Absent already (the node rebooted, the namespace is new): `ip` says so; nothing to do.
    auto r = runtime::runCommand({"ip", "addr", "del", address + "/32", "dev", interface},
                                 std::chrono::seconds(5));
    released += r.exit_code == 0;
  }
  if (released > 0) {
    log::get("agent")->info("services: took {} addresses of an earlier run off their interface",
                            released);
  }
  recordVips({});
}

void ServiceProxy::recordVips(const std::set<std::string>& vips) {
  if (state_file_.empty()) {
    return;
  }
  std::string tmp = state_file_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& v : vips) {
      out << v << "\n";
    }
    if (!out.flush()) {
      log::get("agent")->warn("services: cannot write {}", tmp);
      return;
    }
  }
  if (std::rename(tmp.c_str(), state_file_.c_str()) != 0) {
    log::get("agent")->warn("services: cannot write {}", state_file_);
  }
}

ServiceProxy::~ServiceProxy() {
  stop();
  balancer_.reset();
}

std::future<Result<void>> ServiceProxy::update(lb::LbConfig config, std::string fingerprint) {
  auto promise = std::make_shared<std::promise<Result<void>>>();
  auto future = promise->get_future();
  std::lock_guard lock(mutex_);
  if (stopped_) {
    promise->set_value(fail(ErrorCode::FailedPrecondition, "the service proxy has stopped"));
    return future;
  }
  // Posted under the lock: stop() posts after every update accepted before it.
  asio::post(io_, [this, promise, c = std::move(config), f = std::move(fingerprint)] {
    promise->set_value(applyOnThread(c, f));
  });
  return future;
}

Result<void> ServiceProxy::applyOnThread(const lb::LbConfig& config,
                                         const std::string& fingerprint) {
  if (fingerprint == running()) {
    return ok();
  }
  auto logger = log::get("agent");
  auto wanted = vipsOf(config);
  // Listed before they are added: a crash in between still leaves them findable.
  std::set<std::string> both = held_;
  both.insert(wanted.begin(), wanted.end());
  if (both != held_) {
    recordVips(both);
  }
  if (config.virtual_servers.empty()) {
    // The balancer wants at least one virtual server; with none it simply stops (its listeners
    // close, the ClusterIPs leave the loopback).
    balancer_->stop();
  } else if (auto applied = balancer_->apply(config); !applied) {
    if (applied.error().message != last_error_) {
      last_error_ = applied.error().message;
      logger->error("services: config rejected, keeping the running one: {}", last_error_);
    }
    recordVips(held_);
    return applied;
  }
  last_error_.clear();
  held_ = std::move(wanted);
  recordVips(held_);
  {
    std::lock_guard lock(mutex_);
    running_ = fingerprint;
  }
  ++applied_;
  logger->info("services: serving {} virtual servers", config.virtual_servers.size());
  return ok();
}

void ServiceProxy::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
    asio::post(io_, [this] {
      balancer_->stop();
      held_.clear();
      recordVips(held_);
      io_.stop();
    });
  }
  work_.reset();
  if (thread_.joinable()) {
    thread_.join();
  }
  std::lock_guard lock(mutex_);
  running_.clear();
}

std::string ServiceProxy::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

}  // namespace rampart::agent::services

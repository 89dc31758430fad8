#include "agent/services/service_proxy.h"

#include <boost/asio/post.hpp>

#include "base/log.h"
#include "lb/load_balancer.h"

namespace rampart::agent::services {
namespace asio = boost::asio;

ServiceProxy::ServiceProxy(metrics::Registry& registry)
    : registry_(registry),
      work_(asio::make_work_guard(io_)),
      balancer_(std::make_unique<lb::LoadBalancer>(io_, registry_)) {
  thread_ = std::thread([this] { io_.run(); });
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
  if (config.virtual_servers.empty()) {
    // The balancer wants at least one virtual server; with none it simply stops (its listeners
    // close, the ClusterIPs leave the loopback).
    balancer_->stop();
  } else if (auto applied = balancer_->apply(config); !applied) {
    if (applied.error().message != last_error_) {
      last_error_ = applied.error().message;
      logger->error("services: config rejected, keeping the running one: {}", last_error_);
    }
    return applied;
  }
  last_error_.clear();
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

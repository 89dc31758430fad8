#pragma once
// ServiceProxy: the node's Services served by an embedded lb::LoadBalancer (user-space mode),
// the plan coming from planServices() (service_plan.h). The balancer, and every blocking step
// of an apply (iproute2 `ip` putting a ClusterIP on the loopback or taking it off), live on the
// proxy's own control thread, never on the caller's event loop; the balancer's data path runs
// on its own worker threads as in `rampart lb`.
//   update()  hands over the newest config; returns at once. It is applied on the proxy's thread
//             unless its fingerprint equals the one running (nothing changed). An apply is
//             all-or-nothing (LoadBalancer::apply): on failure the error is logged (once per
//             distinct error) and the running config stays; the next update tries again. A
//             config without virtual servers stops the balancer (which releases every VIP it
//             put up); a later non-empty one starts it again.
//   leftovers the ClusterIPs it holds are listed in `state_file` (written before an apply adds
//             one, and after every apply and stop): a proxy that starts takes every address
//             listed there off its interface first, so an address whose Service was deleted while
//             the agent was down (killed: nothing released it) does not stay on the loopback.
//   stop()    stops the balancer (its listeners close, its VIPs are released) and joins the
//             thread; later updates are ignored. Called by the destructor too.
// Thread-safe: update() and stop() may be called from any thread. Blocking: stop() waits for
// the apply in progress, if any (a few `ip` runs).

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "base/result.h"
#include "lb/config.h"
#include "metrics/metrics.h"

namespace rampart::lb {
class LoadBalancer;
}

namespace rampart::agent::services {

class ServiceProxy {
 public:
  // `registry` (the agent's metrics) must outlive the proxy. `state_file` "": no leftovers
  // are tracked.
  explicit ServiceProxy(metrics::Registry& registry, std::string state_file = "");
  ~ServiceProxy();
  ServiceProxy(const ServiceProxy&) = delete;
  ServiceProxy& operator=(const ServiceProxy&) = delete;

  // The future tells how the apply went (ok too when nothing changed); callers may ignore it.
  // After stop(): FailedPrecondition.
  std::future<Result<void>> update(lb::LbConfig config, std::string fingerprint);
  void stop();

  // The fingerprint of the config running now ("" when none). Any thread.
  std::string running() const;
  // Applies that changed something (for tests and logs). Any thread.
  uint64_t applied() const { return applied_.load(); }

 private:
  Result<void> applyOnThread(const lb::LbConfig& config, const std::string& fingerprint);
  void releaseLeftovers();
  void recordVips(const std::set<std::string>& vips);

  metrics::Registry& registry_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<lb::LoadBalancer> balancer_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::string running_;     // guarded by mutex_; written on the thread
  std::string last_error_;  // the thread only: logged once per distinct error
  bool stopped_ = false;    // guarded by mutex_
  std::atomic<uint64_t> applied_{0};
  std::string state_file_;
  std::set<std::string> held_;  // the thread only: "address@interface" of the running config
};

}  // namespace rampart::agent::services

#pragma once
// LoadBalancer: the control side of `rampart lb`. It owns the configuration, one health-check
// loop per backend (checks of one backend never overlap; intervals are jittered by ±10 % so
// checks of many balancers do not synchronise), the backends' rise/fall state, and the workers.
// Every state change is logged once with its reason ("backend 127.0.0.12:6443 DOWN: 2 checks
// failed (connection refused)"), counted in metrics, and published to the workers as a new
// snapshot. Reloads are all-or-nothing: listen sockets for the new config are opened first, and
// if anything fails the running config stays. Backends present before and after a reload keep
// their health state and counters; established connections are never cut by a reload.
//
// Runs on the control event loop; not thread-safe except where noted.

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "base/result.h"
#include "lb/config.h"
#include "lb/worker.h"
#include "metrics/metrics.h"
#include "vip/vip.h"

namespace rampart::lb {

class LoadBalancer {
 public:
  LoadBalancer(boost::asio::io_context& control, metrics::Registry& registry);
  ~LoadBalancer();

  // Applies `config` (the first one, or a reload). On error nothing changes. Virtual servers
  // with `backends_from` get their backends from etcd, followed from here on.
  Result<void> apply(const LbConfig& config);
  void stop();

  // The current state as JSON (served at /status, shown by `rampart lb status`).
  std::string statusJson() const;
  // Copies data-path counters into the Prometheus metrics (called before each scrape).
  void refreshMetrics();

  // Thread-safe: a worker reports a failed client connect (passive health).
  void reportConnectFailure(const std::string& vs, const std::string& backend,
                            const std::string& reason);

 private:
  struct Backend;
  struct Server;
  struct Metrics;  // this balancer's metric families, in registry_
  // Applies the file's config with the backends learnt from etcd filled in.
  Result<void> applyMerged(const LbConfig& base);
  void startSources();
  void publish();
  Result<void> programKernel();
  void startChecks(const std::shared_ptr<Server>& server);

  boost::asio::io_context& control_;
  metrics::Registry& registry_;
  std::unique_ptr<Metrics> metrics_;
  uint64_t exported_accept_errors_ = 0;
  uint64_t exported_local_connect_errors_ = 0;
  std::map<std::string, std::shared_ptr<Server>> servers_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint64_t generation_ = 0;  // bumped on every apply; stale check loops exit
  LbConfig base_;            // the config as given (file or flags)
  std::map<std::string, vip::VipOwner> vips_;  // by "address@interface"
  Mode mode_ = Mode::User;
  std::set<std::string> programmed_;  // kernel mode: "vip|backend" pairs in the nft table
  std::map<std::string, std::vector<BackendConfig>> learnt_;  // from etcd, by virtual server
  uint64_t source_generation_ = 0;  // bumped on every reload; stale etcd followers exit
};

}  // namespace rampart::lb

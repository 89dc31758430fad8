#pragma once
// Simulator: `rampart agent --simulate N` — N hollow nodes driven through one kube::Client.
//   register   each Node (created, or brought back to Ready with its labels if it exists) and
//              its Lease in kube-node-lease;
//   leases     renewed on LeaseSchedule's spread slots (lease_schedule.h);
//   pods       one watch of all pods (list, then watch from its resourceVersion; 410 → list
//              again): a pod bound to one of the nodes gets the status decidePod() writes
//              (pod_status.h) through the status subresource, a pod being deleted is deleted
//              with grace 0.
// Why one watch of every pod rather than one per node (the kubelet's fieldSelector
// spec.nodeName=X): 1,000 watches are 1,000 server-side streams each filtering every pod event,
// while one stream carries each event once and the agent drops other nodes' pods by a hash
// lookup.
// Writes go through `max_in_flight` workers: half of them take lease renewals first, the other
// half pod writes first, so neither kind starves the other when the API is saturated (an idle
// worker takes either). Renewals beyond what the API absorbs are skipped (lease_slots_missed),
// never queued up. A write that lost a race (409) is not retried: the watch brings the newer
// pod, which is decided again. Other failures are retried after `retry_delay`.
// Use from the client's event loop only; stop() ends run() within a request timeout.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/lease_schedule.h"
#include "agent/node_spec.h"
#include "agent/pod_ips.h"
#include "agent/pod_status.h"
#include "kube/client.h"

namespace rampart::agent {

struct SimulatorOptions {
  NodeSpec spec;
  int nodes = 1;
  Duration renew_interval = std::chrono::milliseconds(200);
  int max_in_flight = 32;  // concurrent API writes
  Duration retry_delay = std::chrono::milliseconds(500);
};

struct SimulatorStats {
  int64_t nodes_registered = 0;
  int64_t leases_renewed = 0;
  int64_t lease_failures = 0;
  int64_t lease_slots_missed = 0;  // due while the previous renewal was still queued or in flight
  int64_t pods_started = 0;
  int64_t pods_deleted = 0;
  int64_t pod_write_conflicts = 0;
  int64_t pod_write_failures = 0;
  int64_t watch_restarts = 0;
  int64_t relists = 0;
};

class Simulator {
 public:
  using WallClock = std::function<api::WallTime()>;
  Simulator(boost::asio::any_io_executor executor, kube::Client& client, const Clock& clock,
            WallClock wall_clock, SimulatorOptions options);
  ~Simulator();

  // Registers every node and its Lease, `max_in_flight` at a time. Fails with the first node
  // that could not be registered (naming it and the server's answer).
  boost::asio::awaitable<Result<void>> registerNodes();
  // Renews leases and runs pods until stop().
  boost::asio::awaitable<void> run();
  // Stops renewing at once (no renewal starts after this call) and ends run().
  void stop();

  const SimulatorStats& stats() const { return stats_; }
  const SimulatorOptions& options() const { return options_; }

 private:
  boost::asio::awaitable<Result<void>> registerNode(int index);
  boost::asio::awaitable<Result<void>> renewLease(int index);
  boost::asio::awaitable<void> leaseLoop();
  boost::asio::awaitable<void> podLoop();
  boost::asio::awaitable<void> worker(bool leases_first);
  boost::asio::awaitable<Result<void>> renewQueuedLease();
  boost::asio::awaitable<void> writeQueuedPod();
  boost::asio::awaitable<void> writePod(std::string key, nlohmann::json pod);
  boost::asio::awaitable<Result<std::string>> listPods();  // returns the list's resourceVersion

  void observe(const nlohmann::json& pod);
  void forget(const std::string& key);
  void enqueuePod(const std::string& key);
  void wakeWorkers();
  boost::asio::awaitable<void> sleepFor(Duration d);
  // Runs `body`, then counts it out of running_ (run() returns when none is left).
  boost::asio::awaitable<void> tracked(boost::asio::awaitable<void> body);

  // Failures are logged on transitions only (the first one, and the recovery with a count), so
  // an API server that is down for a while does not produce thousands of lines a second.
  struct FailureLog {
    const char* what;
    bool failing = false;
    int64_t failures = 0;
  };
  void failed(FailureLog& entry, const std::string& message);
  void succeeded(FailureLog& entry);

  boost::asio::any_io_executor executor_;
  kube::Client& client_;
  const Clock& clock_;
  WallClock wall_clock_;
  SimulatorOptions options_;
  SimulatorStats stats_;
  FailureLog lease_log_{"lease renewals"};
  FailureLog pod_log_{"pod writes"};
  bool stopping_ = false;
  int running_ = 0;  // coroutines of run() still going

  std::unordered_map<std::string, int> node_index_;  // node name → index
  PodIps ips_;
  std::unordered_map<std::string, int> known_;  // pod key → node index, pods on our nodes

  std::deque<int> lease_queue_;
  std::vector<bool> lease_busy_;  // queued or in flight
  std::deque<std::string> pod_queue_;
  std::unordered_map<std::string, nlohmann::json> pod_pending_;  // latest object to act on
  std::set<std::string> pod_busy_;                               // queued or in flight

  boost::asio::steady_timer work_ready_;  // cancelled when work is queued
  boost::asio::steady_timer lease_timer_;
  boost::asio::steady_timer finished_;  // cancelled when run()'s coroutines are done
  std::unique_ptr<kube::EventStream> stream_;
};

}  // namespace rampart::agent

#pragma once
// Manager: runs `rampart controller`'s reconcilers against the API through kube::Client.
//   - Informers (kube/informer.h) are shared per resource and run all the time, also on a
//     standby, so a new leader starts from a warm cache (reads only; a standby writes nothing).
//   - The elector (elector.h) decides who leads. When this process starts leading, every
//     informer relists first (a list that starts after the takeover holds every write the old
//     leader made: its writes all landed before its fencing deadline, which is before our
//     takeover — leader.h), and only then do the reconcilers act: each key is queued once.
//   - Each reconciler has a work queue (workqueue.h: keys "namespace/name", deduplicated,
//     bounded retries with back-off) and its workers; handlers on the informers queue keys.
//   - Every write goes through a ThrottledClient (at most N in flight) and then a FencedClient
//     (fenced_client.h): the moment the fencing deadline passes, writes fail without being
//     sent; on losing leadership the queues and the reconcilers' expectations are dropped, and
//     a new term starts only after every reconcile of the old one returned (so our own writes
//     of the old term are answered before the relist that starts the new one).
// Without leader election (--leader-elect=false) this process always acts.
// Use from the one event loop that runs run().

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/table.h"
#include "base/clock.h"
#include "base/result.h"
#include "controller/elector.h"
#include "controller/fenced_client.h"
#include "controller/recorder.h"
#include "controller/throttled_client.h"
#include "controller/workqueue.h"
#include "kube/client.h"
#include "kube/informer.h"

namespace prometheus {
class Registry;
}

namespace rampart::controller {

using WallClock = std::function<api::WallTime()>;

// What a reconciler is given: the fenced client for writes, the recorder, time, and the shared
// informers (ask for them while being constructed).
struct ControllerContext {
  kube::Client& client;
  Recorder& recorder;
  const Clock& clock;
  WallClock wall;
  std::function<kube::Informer&(const kube::Resource&)> informer;
};
using Enqueue = std::function<void(const std::string& key)>;

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // Every key it is responsible for (queued when acting starts and at each resync).
  virtual std::vector<std::string> keys() const = 0;
  // Brings one key to its desired state. An error retries the key with back-off.
  virtual boost::asio::awaitable<Result<void>> reconcile(std::string key) = 0;
  // Leadership was lost: forget bookkeeping about in-flight writes.
  virtual void reset() {}
  // Time-driven controllers (node lifecycle: a dead node sends no event) have every key queued
  // again at this period while acting; nullopt: only events and the resync queue keys.
  virtual std::optional<Duration> period() const { return std::nullopt; }
};
using ReconcilerFactory =
    std::function<std::unique_ptr<Reconciler>(ControllerContext&, Enqueue enqueue)>;

struct ManagerOptions {
  bool leader_elect = true;
  LeaderConfig leader;
  std::string lease_namespace = "kube-system";
  std::string lease_name = "rampart-controller";
  Duration resync_period = std::chrono::seconds(30);
  Duration poll = std::chrono::milliseconds(20);  // how often leadership is re-checked
  int workers = 4;                                // per reconciler
  int max_writes_in_flight = 16;                  // across all reconcilers (ThrottledClient)
  // The client the elector uses for the Lease: best its own connection, so renewals never
  // queue behind the reconcilers' writes (null: the manager's client).
  kube::Client* lease_client = nullptr;
  kube::InformerOptions informer;
  RecorderOptions recorder;
  WorkQueueOptions queue;
};

class Manager {
 public:
  Manager(kube::Client& client, const Clock& clock, WallClock wall, ManagerOptions options,
          prometheus::Registry* metrics = nullptr);
  ~Manager();

  void add(const std::string& name, const ReconcilerFactory& factory);
  kube::Informer& informer(const kube::Resource& resource);
  // Called with true when the reconcilers start acting (after the post-takeover relist) and
  // false when they stop.
  void onActing(std::function<void(bool)> hook) { on_acting_ = std::move(hook); }

  // Runs everything until shutdown() completes.
  boost::asio::awaitable<void> run();
  // Stops the workers (in-flight reconciles finish, bounded), releases the Lease, stops the
  // informers; run() returns after it.
  boost::asio::awaitable<void> shutdown();

  bool acting() const { return phase_ == Phase::Acting; }
  bool mayWrite() const;
  Elector* elector() { return elector_.get(); }
  Recorder& recorder() { return *recorder_; }
  ControllerContext& context() { return *context_; }
  uint64_t reconciles() const { return reconciles_; }
  uint64_t reconcileErrors() const { return reconcile_errors_; }

 private:
  enum class Phase { Standby, Syncing, Acting };
  struct Controller {
    std::string name;
    std::unique_ptr<Reconciler> reconciler;
    WorkQueue queue;
    std::vector<std::unique_ptr<boost::asio::steady_timer>> wakes;
    TimePoint next_period{};  // when period() queues every key again
  };
  boost::asio::awaitable<void> supervise();
  boost::asio::awaitable<void> work(Controller* controller, size_t index);
  boost::asio::awaitable<void> track(boost::asio::awaitable<void> task);
  void enqueueAll();
  void stopActing(const std::string& why);
  void wake(Controller& controller);

  kube::Client& client_;
  const Clock& clock_;
  WallClock wall_;
  ManagerOptions options_;
  FencedClient fenced_;
  ThrottledClient throttled_;  // over fenced_: the fence is checked when a call is sent
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<Elector> elector_;
  std::unique_ptr<ControllerContext> context_;
  std::map<std::string, std::unique_ptr<kube::Informer>> informers_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::function<void(bool)> on_acting_;
  Phase phase_ = Phase::Standby;
  uint64_t term_ = 0;  // bumps at each start and end of acting; stale retries are dropped
  std::map<std::string, uint64_t> relist_tickets_;
  TimePoint next_resync_{};
  bool stopping_ = false;
  bool finished_ = false;
  int tasks_ = 0;  // spawned coroutines still running
  int busy_ = 0;   // workers inside reconcile()
  uint64_t reconciles_ = 0;
  uint64_t reconcile_errors_ = 0;
  std::unique_ptr<boost::asio::steady_timer> tick_;
  struct Metrics;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace rampart::controller

#pragma once
// ProbeManager: runs the probes of every container of one agent on the agent's event loop and
// reports, through `on_change`, each change of a container's started / ready / restart_needed
// (never once per probe; it logs on those transitions only). Each probe of each container runs
// on its own schedule (ContainerProbes: initial delay, period, startup gating, thresholds); the
// first run of each is jittered by a little (`Options::jitter`, default up to a tenth of the
// period, so pods started together do not probe in lockstep; tests make it 0).
//
// Time is the real monotonic clock (its timers are steady_timers); the decisions it follows are
// ContainerProbes', which are tested with a fake clock.
// Ownership: the manager owns its per-container state; the caller owns the executor, which must
// outlive the manager's coroutines (a probe in flight when stop() or remove() is called finishes
// by its own timeout, and its result is dropped).
// The agent acts on restart_needed (kills and restarts the container) and then calls add()
// again with the new start time: that starts the container's probes over.
// Thread-safety: none. Call everything from the executor's thread; `on_change` is called there.
// After stop() (or the destructor) no callback is made and every timer is cancelled.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agent/probe/runner.h"
#include "agent/probe/spec.h"
#include "agent/probe/state.h"
#include "base/clock.h"

namespace rampart::agent::probe {

class ProbeManager {
 public:
  using OnChange = std::function<void(const std::string& pod_uid, const std::string& container,
                                      const ProbeStatus& status)>;
  struct Options {
    // The delay of a container's first probe runs, given the shortest period of its probes;
    // unset: uniform in [0, period / 10].
    std::function<Duration(Duration period)> jitter;
  };

  ProbeManager(boost::asio::any_io_executor executor, OnChange on_change, Options options);
  ProbeManager(boost::asio::any_io_executor executor, OnChange on_change);
  ~ProbeManager();
  ProbeManager(const ProbeManager&) = delete;
  ProbeManager& operator=(const ProbeManager&) = delete;

  // Starts probing `container` of pod `pod_uid`, which started at `start_time`; `pod_ip` is the
  // host of probes that name none; `exec` runs exec probes. Replaces (restarts) an existing
  // entry of the same container. Returns the initial status (also when it has no probes: then
  // started and ready at once); on_change is not called for it.
  ProbeStatus add(const std::string& pod_uid, const std::string& container,
                  ContainerProbeSpecs specs, TimePoint start_time, std::string pod_ip, ExecFn exec);
  // Stops probing it (no callback for it afterwards). Unknown: nothing happens.
  void remove(const std::string& pod_uid, const std::string& container);
  // The current status, if the container is known.
  std::optional<ProbeStatus> status(const std::string& pod_uid, const std::string& container) const;
  // Cancels every timer; no callback after it returns. add() after stop() does nothing.
  void stop();

 private:
  struct Shared;
  struct Entry;
  static boost::asio::awaitable<void> probeLoop(std::shared_ptr<Shared> shared,
                                                std::shared_ptr<Entry> entry, ProbeKind kind);
  std::shared_ptr<Shared> shared_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Entry>> entries_;
};

}  // namespace rampart::agent::probe

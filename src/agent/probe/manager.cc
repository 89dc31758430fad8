#include "agent/probe/manager.h"

#include <array>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"

namespace rampart::agent::probe {

namespace asio = boost::asio;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr ProbeKind kKinds[] = {ProbeKind::Liveness, ProbeKind::Readiness, ProbeKind::Startup};
}  // namespace

struct ProbeManager::Shared {
  asio::any_io_executor executor;
  OnChange on_change;
  std::function<Duration(Duration)> jitter;
  bool stopped = false;
  std::shared_ptr<spdlog::logger> log = log::get("probe");
};

struct ProbeManager::Entry {
  Entry(asio::any_io_executor executor, ContainerProbeSpecs specs, TimePoint start, Duration jitter)
      : state(std::move(specs), start, jitter),
        timers{asio::steady_timer(executor), asio::steady_timer(executor),
               asio::steady_timer(executor)} {}

  std::string pod_uid;
  std::string container;
  ContainerProbes state;
  std::string pod_ip;
  ExecFn exec;
  bool removed = false;  // removed, replaced or the manager stopped: its loops end, silently
  std::array<asio::steady_timer, 3> timers;  // one per probe kind, each probe's own schedule

  void cancelTimers() {
    for (auto& timer : timers) {
      timer.cancel();
    }
  }
};

ProbeManager::ProbeManager(asio::any_io_executor executor, OnChange on_change)
    : ProbeManager(std::move(executor), std::move(on_change), Options{}) {}

ProbeManager::ProbeManager(asio::any_io_executor executor, OnChange on_change, Options options)
    : shared_(std::make_shared<Shared>()) {
  shared_->executor = std::move(executor);
  shared_->on_change = std::move(on_change);
  shared_->jitter = std::move(options.jitter);
  if (!shared_->jitter) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    shared_->jitter = [rng](Duration period) {
      std::uniform_int_distribution<int64_t> tenth(0, std::max<int64_t>(0, period.count() / 10));
      return Duration(tenth(*rng));
    };
  }
}

ProbeManager::~ProbeManager() { stop(); }

ProbeStatus ProbeManager::add(const std::string& pod_uid, const std::string& container,
                              ContainerProbeSpecs specs, TimePoint start_time, std::string pod_ip,
                              ExecFn exec) {
  remove(pod_uid, container);
  Duration shortest = Duration::max();
  for (ProbeKind kind : kKinds) {
    if (const auto& spec = specs.get(kind)) {
      shortest = std::min(shortest, spec->period);
    }
  }
  Duration jitter = shortest == Duration::max() ? Duration{0} : shared_->jitter(shortest);
  auto entry = std::make_shared<Entry>(shared_->executor, std::move(specs), start_time, jitter);
  entry->pod_uid = pod_uid;
  entry->container = container;
  entry->pod_ip = std::move(pod_ip);
  entry->exec = std::move(exec);
  ProbeStatus initial = entry->state.status();
  if (shared_->stopped) {
    return initial;
  }
  entries_[{pod_uid, container}] = entry;
  for (ProbeKind kind : kKinds) {
    if (entry->state.specs().get(kind)) {
      asio::co_spawn(shared_->executor, probeLoop(shared_, entry, kind), asio::detached);
    }
  }
  return initial;
}

void ProbeManager::remove(const std::string& pod_uid, const std::string& container) {
  auto it = entries_.find({pod_uid, container});
  if (it == entries_.end()) {
    return;
  }
  it->second->removed = true;
  it->second->cancelTimers();
  entries_.erase(it);
}

std::optional<ProbeStatus> ProbeManager::status(const std::string& pod_uid,
                                                const std::string& container) const {
  auto it = entries_.find({pod_uid, container});
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return it->second->state.status();
}

void ProbeManager::stop() {
  shared_->stopped = true;
  for (auto& [key, entry] : entries_) {
    entry->removed = true;
    entry->cancelTimers();
  }
  entries_.clear();
}

// One probe of one container, on its own schedule until the entry goes. The state machine says
// when it is due; a timer cancelled by another probe's transition (the startup probe passed)
// only makes it look again.
asio::awaitable<void> ProbeManager::probeLoop(std::shared_ptr<ProbeManager::Shared> shared,
                                              std::shared_ptr<ProbeManager::Entry> entry,
                                              ProbeKind kind) {
  auto& timer = entry->timers[static_cast<size_t>(kind)];
  auto gone = [&] { return shared->stopped || entry->removed; };
  while (!gone()) {
    auto due = entry->state.nextDue(kind);
    timer.expires_at(due.value_or(TimePoint::max()));
    co_await timer.async_wait(kTuple);
    if (gone()) {
      co_return;
    }
    if (!entry->state.isDue(kind, SteadyClock::instance().now())) {
      continue;  // woken to look again, or not due any more
    }
    auto outcome = co_await runProbe(shared->executor, *entry->state.specs().get(kind),
                                     entry->pod_ip, entry->exec);
    if (gone()) {
      co_return;  // a result for a container that is gone or restarted means nothing
    }
    auto change = entry->state.record(kind, outcome, SteadyClock::instance().now());
    if (!change) {
      continue;
    }
    shared->log->info(
        "probe status changed pod={} container={} probe={} started={} ready={} "
        "restart_needed={} message=\"{}\"",
        entry->pod_uid, entry->container, kindName(kind), change->started, change->ready,
        change->restart_needed, change->message);
    // The other probes' schedules may have changed (startup passed: liveness and readiness may
    // run; restart needed: nothing runs).
    for (ProbeKind other : kKinds) {
      if (other != kind) {
        entry->timers[static_cast<size_t>(other)].cancel();
      }
    }
    shared->on_change(entry->pod_uid, entry->container, *change);
  }
}

}  // namespace rampart::agent::probe

#include "controller/manager.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "metrics/metrics.h"

namespace rampart::controller {
namespace asio = boost::asio;

struct Manager::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : leader(prometheus::BuildGauge()
                   .Name("rampart_controller_leader")
                   .Help("1 while this controller acts as the leader")
                   .Register(r)
                   .Add({})),
        reconciles(prometheus::BuildCounter()
                       .Name("rampart_controller_reconciles_total")
                       .Help("Keys reconciled, by controller and result")
                       .Register(r)),
        depth(prometheus::BuildGauge()
                  .Name("rampart_controller_queue_depth")
                  .Help("Keys waiting in each controller's work queue")
                  .Register(r)),
        events_dropped(prometheus::BuildGauge()
                           .Name("rampart_controller_events_dropped")
                           .Help("Events not written (spam filter, full queue, API errors)")
                           .Register(r)
                           .Add({})) {}
  prometheus::Gauge& leader;
  prometheus::Family<prometheus::Counter>& reconciles;
  prometheus::Family<prometheus::Gauge>& depth;
  prometheus::Gauge& events_dropped;
};

Manager::Manager(kube::Client& client, const Clock& clock, WallClock wall,
                 ManagerOptions options, prometheus::Registry* metrics)
    : client_(client),
      clock_(clock),
      wall_(std::move(wall)),
      options_(std::move(options)),
      fenced_(client, [this] { return mayWrite(); }),
      throttled_(fenced_, std::max(1, options_.max_writes_in_flight)) {
  RecorderOptions recorder = options_.recorder;
  if (recorder.instance.empty()) {
    recorder.instance = options_.leader.identity;
  }
  recorder_ = std::make_unique<Recorder>(throttled_, clock_, wall_, recorder);
  if (options_.leader_elect) {
    kube::Client& lease_client = options_.lease_client ? *options_.lease_client : client_;
    elector_ = std::make_unique<Elector>(lease_client, clock_, wall_, options_.leader,
                                         options_.lease_namespace, options_.lease_name);
    elector_->onChange([this](bool leading) {
      if (!leading) {
        stopActing("leadership lost");
      }
    });
  }
  context_ = std::make_unique<ControllerContext>(ControllerContext{
      throttled_, *recorder_, clock_, wall_,
      [this](const kube::Resource& r) -> kube::Informer& { return informer(r); }});
  if (metrics) {
    metrics_ = std::make_unique<Metrics>(*metrics);
  }
}

Manager::~Manager() = default;

bool Manager::mayWrite() const {
  if (stopping_ || phase_ != Phase::Acting) {
    return false;
  }
  return !elector_ || elector_->mayAct();
}

kube::Informer& Manager::informer(const kube::Resource& resource) {
  std::string id = resource.apiVersion() + "/" + resource.plural;
  auto& slot = informers_[id];
  if (!slot) {
    slot = std::make_unique<kube::Informer>(client_, resource, options_.informer);
  }
  return *slot;
}

void Manager::add(const std::string& name, const ReconcilerFactory& factory) {
  auto controller = std::make_unique<Controller>();
  controller->name = name;
  controller->queue = WorkQueue(options_.queue);
  Controller* raw = controller.get();
  controller->reconciler = factory(*context_, [this, raw](const std::string& key) {
    if (phase_ == Phase::Acting) {  // a standby queues nothing: acting starts with every key
      raw->queue.add(key);
      wake(*raw);
    }
  });
  controllers_.push_back(std::move(controller));
}

void Manager::wake(Controller& controller) {
  for (auto& timer : controller.wakes) {
    timer->cancel();
  }
}

void Manager::enqueueAll() {
  for (auto& c : controllers_) {
    for (const auto& key : c->reconciler->keys()) {
      c->queue.add(key);
    }
    wake(*c);
  }
}

void Manager::stopActing(const std::string& why) {
  if (phase_ == Phase::Standby) {
    return;
  }
  bool was_acting = phase_ == Phase::Acting;
  phase_ = Phase::Standby;
  ++term_;
  for (auto& c : controllers_) {
    c->queue.clear();
    c->reconciler->reset();
  }
  if (metrics_) {
    metrics_->leader.Set(0);
  }
  if (was_acting) {
    log::get("controller")->warn("stopped acting reason=\"{}\"", why);
    if (on_acting_) {
      on_acting_(false);
    }
  }
}

asio::awaitable<void> Manager::track(asio::awaitable<void> task) {
  co_await std::move(task);
  --tasks_;
}

asio::awaitable<void> Manager::supervise() {
  while (!stopping_) {
    bool may = !elector_ || elector_->mayAct();
    TimePoint now = clock_.now();
    if (!may && phase_ != Phase::Standby) {
      stopActing("the fencing deadline passed");
    } else if (may && phase_ == Phase::Standby && busy_ == 0) {
      // A new term: relist so the cache covers every write made before our takeover.
      phase_ = Phase::Syncing;
      relist_tickets_.clear();
      for (auto& [id, informer] : informers_) {
        relist_tickets_[id] = informer->requestRelist();
      }
      log::get("controller")->info("leading: relisting {} informers before acting",
                                   informers_.size());
    } else if (may && phase_ == Phase::Syncing) {
      bool ready = true;
      for (auto& [id, informer] : informers_) {
        ready = ready && informer->synced() && informer->relisted(relist_tickets_[id]);
      }
      if (ready) {
        phase_ = Phase::Acting;
        ++term_;
        next_resync_ = now + options_.resync_period;
        if (metrics_) {
          metrics_->leader.Set(1);
        }
        log::get("controller")->info("acting controllers={}", controllers_.size());
        if (on_acting_) {
          on_acting_(true);
        }
        enqueueAll();
      }
    } else if (phase_ == Phase::Acting && now >= next_resync_) {
      next_resync_ = now + options_.resync_period;
      enqueueAll();
    }
    if (phase_ == Phase::Acting) {
      for (auto& c : controllers_) {
        auto period = c->reconciler->period();
        if (period && now >= c->next_period) {
          c->next_period = now + *period;
          for (const auto& key : c->reconciler->keys()) {
            c->queue.add(key);
          }
          wake(*c);
        }
      }
    }
    if (metrics_) {
      metrics_->events_dropped.Set(static_cast<double>(recorder_->dropped()));
      for (auto& c : controllers_) {
        metrics_->depth.Add({{"controller", c->name}})
            .Set(static_cast<double>(c->queue.queued() + c->queue.waiting()));
      }
    }
    tick_->expires_after(options_.poll);
    co_await tick_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> Manager::work(Controller* c, size_t index) {
  auto& timer = *c->wakes[index];
  while (!stopping_) {
    std::optional<std::string> key;
    if (phase_ == Phase::Acting && mayWrite()) {
      key = c->queue.take(clock_.now());
    }
    if (!key) {
      Duration wait = std::chrono::milliseconds(200);
      if (auto retry = c->queue.nextRetry()) {
        wait = std::clamp<Duration>(*retry - clock_.now(), std::chrono::milliseconds(1), wait);
      }
      timer.expires_after(wait);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    uint64_t term = term_;
    ++busy_;
    auto result = co_await c->reconciler->reconcile(*key);
    --busy_;
    ++reconciles_;
    bool ok = result.has_value();
    if (!ok) {
      ++reconcile_errors_;
      log::get("controller")->debug("reconcile failed controller={} key={} error={}", c->name,
                                    *key, result.error().message);
    }
    if (metrics_) {
      metrics_->reconciles.Add({{"controller", c->name}, {"result", ok ? "success" : "error"}})
          .Increment();
    }
    // A key that failed in a term that has ended is not retried: the new term queues all.
    bool kept = c->queue.done(*key, ok || term != term_, clock_.now());
    if (!kept) {
      log::get("controller")->warn("giving up on a key after retries controller={} key={} "
                                   "error={}",
                                   c->name, *key, result ? "" : result.error().message);
    }
  }
}

asio::awaitable<void> Manager::run() {
  auto executor = co_await asio::this_coro::executor;
  tick_ = std::make_unique<asio::steady_timer>(executor);
  auto spawn = [&](asio::awaitable<void> task) {
    ++tasks_;
    asio::co_spawn(executor, track(std::move(task)), asio::detached);
  };
  for (auto& [id, informer] : informers_) {
    spawn(informer->run());
  }
  spawn(recorder_->run());
  if (elector_) {
    spawn(elector_->run());
  }
  for (auto& c : controllers_) {
    for (int i = 0; i < options_.workers; ++i) {
      c->wakes.push_back(std::make_unique<asio::steady_timer>(executor));
    }
    for (int i = 0; i < options_.workers; ++i) {
      spawn(work(c.get(), static_cast<size_t>(i)));
    }
  }
  co_await supervise();
  // shutdown() stops the rest; wait (bounded) for every task to return.
  asio::steady_timer wait(executor);
  for (int i = 0; i < 300 && tasks_ > 0; ++i) {
    wait.expires_after(std::chrono::milliseconds(10));
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  finished_ = true;
}

asio::awaitable<void> Manager::shutdown() {
  auto executor = co_await asio::this_coro::executor;
  stopping_ = true;  // workers take nothing more and writes are refused from now on
  stopActing("shutting down");
  for (auto& c : controllers_) {
    wake(*c);
  }
  if (tick_) {
    tick_->cancel();
  }
  asio::steady_timer wait(executor);
  // Writes already sent must land before the Lease is released (a successor may start at once).
  for (int i = 0; i < 1000 && busy_ > 0; ++i) {
    wait.expires_after(std::chrono::milliseconds(10));
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (elector_) {
    elector_->stop();
    co_await elector_->release();
  }
  recorder_->stop();
  for (auto& [id, informer] : informers_) {
    informer->stop();
  }
  for (int i = 0; i < 400 && !finished_; ++i) {
    wait.expires_after(std::chrono::milliseconds(10));
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace rampart::controller

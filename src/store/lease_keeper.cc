#include "store/lease_keeper.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"

namespace rampart::store {
namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

class KeepAliveImpl final : public KeepAlive, public std::enable_shared_from_this<KeepAliveImpl> {
 public:
  KeepAliveImpl(Store& store, asio::any_io_executor ex, const Clock& clock,
                LeaseGrantResponse lease, TimePoint granted_sent_at)
      : store_(store), clock_(clock), id_(lease.id), lease_clock_(lease.ttl, granted_sent_at),
        renew_timer_(ex), deadline_timer_(ex) {}

  void start() {
    auto ex = renew_timer_.get_executor();
    asio::co_spawn(ex, renewLoop(shared_from_this()), asio::detached);
    asio::co_spawn(ex, watchDeadline(shared_from_this()), asio::detached);
  }

  LeaseId id() const override { return id_; }
  TimePoint deadline() const override { return lease_clock_.deadline(); }
  bool lost() const override { return lost_; }
  const std::string& lostReason() const override { return lost_reason_; }
  void onLost(std::function<void(const std::string&)> callback) override {
    if (lost_) {
      callback(lost_reason_);
      return;
    }
    on_lost_ = std::move(callback);
  }
  void stop() override {
    stopped_ = true;
    renew_timer_.cancel();
    deadline_timer_.cancel();
  }

 private:
  void markLost(std::string reason) {
    if (lost_) {
      return;
    }
    lost_ = true;
    lost_reason_ = std::move(reason);
    log::get("lease")->warn("lease lost id={} reason=\"{}\"", id_, lost_reason_);
    stop();
    if (auto cb = std::move(on_lost_)) {
      cb(lost_reason_);
    }
  }

  // Renews at TTL/3, sooner after a failure. The deadline watchdog below, not this loop, declares
  // the lease lost on time, because a renewal in flight can take up to the store's timeout.
  static asio::awaitable<void> renewLoop(std::shared_ptr<KeepAliveImpl> self) {
    while (!self->stopped_) {
      auto wait = self->lease_clock_.nextRenewal() - self->clock_.now();
      self->renew_timer_.expires_after(std::max<Duration>(wait, Duration::zero()));
      co_await self->renew_timer_.async_wait(kTuple);
      if (self->stopped_) {
        break;
      }
      TimePoint sent_at = self->clock_.now();
      auto renewed = co_await self->store_.leaseKeepAliveOnce(self->id_);
      if (self->stopped_) {
        break;
      }
      if (renewed) {
        self->lease_clock_.onRenewed(sent_at, renewed->ttl);
        self->armDeadline();
      } else if (renewed.error().code == ErrorCode::NotFound) {
        self->markLost("lease no longer exists in etcd (expired or revoked)");
      } else {
        self->lease_clock_.onRenewFailed(self->clock_.now());
        if (!self->failing_) {
          log::get("lease")->warn("lease renewal failed id={} error=\"{}\"", self->id_,
                                  renewed.error().toString());
        }
      }
      self->failing_ = !renewed;
    }
  }

  void armDeadline() {
    deadline_timer_.expires_after(
        std::max<Duration>(lease_clock_.deadline() - clock_.now(), Duration::zero()));
  }

  static asio::awaitable<void> watchDeadline(std::shared_ptr<KeepAliveImpl> self) {
    self->armDeadline();
    while (!self->stopped_) {
      auto [ec] = co_await self->deadline_timer_.async_wait(kTuple);
      if (self->stopped_) {
        break;
      }
      if (self->lease_clock_.expired(self->clock_.now())) {
        self->markLost("no renewal acknowledged within the TTL");
        break;
      }
      if (!ec) {
        // Fired early relative to a later deadline set meanwhile: re-arm.
        self->armDeadline();
      }
      // ec == operation_aborted: a renewal re-armed the timer; wait again.
    }
  }

  Store& store_;
  const Clock& clock_;
  LeaseId id_;
  LeaseClock lease_clock_;
  asio::steady_timer renew_timer_;
  asio::steady_timer deadline_timer_;
  bool stopped_ = false;
  bool failing_ = false;  // last renewal failed (log only the transition)
  bool lost_ = false;
  std::string lost_reason_;
  std::function<void(const std::string&)> on_lost_;
};

}  // namespace

LeaseKeeper::LeaseKeeper(Store& store, asio::any_io_executor executor, const Clock& clock)
    : store_(store), executor_(std::move(executor)), clock_(clock) {}

KeepAlivePtr LeaseKeeper::keep(LeaseGrantResponse lease, TimePoint granted_sent_at) {
  auto keeper =
      std::make_shared<KeepAliveImpl>(store_, executor_, clock_, lease, granted_sent_at);
  keeper->start();
  return keeper;
}

asio::awaitable<Result<KeepAlivePtr>> LeaseKeeper::grantAndKeep(std::chrono::seconds ttl) {
  TimePoint sent_at = clock_.now();
  auto granted = co_await store_.leaseGrant(ttl);
  if (!granted) {
    co_return fail(granted.error());
  }
  co_return keep(*granted, sent_at);
}

}  // namespace rampart::store


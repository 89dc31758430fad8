#pragma once
// LeaseKeeper keeps any number of etcd leases alive over one Store (no thread and no connection
// per lease: each lease is a small coroutine sharing the store's pooled connections) and tells
// each holder, through a KeepAlive handle, until when its lease certainly exists.
//
// The fencing deadline. etcd lets a lease expire TTL after the last renewal it *received*; a
// renewal is received after it was *sent*. So "send time of the last acknowledged renewal + TTL"
// is never later than the real expiry, however slow the answer was. A holder that must stop
// acting as owner before anyone else can take over (a primary fencing itself) uses
// KeepAlive::deadline() minus its safety margin; ARCHITECTURE.md's first invariant rests on it.
//
// Not thread-safe: one event loop.

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/clock.h"
#include "store/store.h"

namespace rampart::store {

// The pure bookkeeping of one lease: when to renew, until when it is safe, whether it is lost.
class LeaseClock {
 public:
  LeaseClock(std::chrono::seconds ttl, TimePoint granted_sent_at)
      : ttl_(ttl), deadline_(granted_sent_at + ttl),
        next_renewal_(granted_sent_at + renewalInterval(ttl)) {}

  // A renewal sent at `sent_at` was acknowledged with `ttl`.
  void onRenewed(TimePoint sent_at, std::chrono::seconds ttl) {
    ttl_ = ttl;
    deadline_ = std::max(deadline_, sent_at + ttl);
    next_renewal_ = sent_at + renewalInterval(ttl);
  }
  // A renewal failed (etcd unreachable): retry soon, well before the deadline.
  void onRenewFailed(TimePoint now) {
    next_renewal_ = now + std::max<Duration>(std::chrono::milliseconds(20), Duration(ttl_) / 20);
  }
  bool expired(TimePoint now) const { return now >= deadline_; }
  TimePoint deadline() const { return deadline_; }
  TimePoint nextRenewal() const { return std::min(next_renewal_, deadline_); }
  std::chrono::seconds ttl() const { return ttl_; }

 private:
  // TTL/3, as etcd's own client does. In nanoseconds: seconds(1) / 3 would be zero.
  static Duration renewalInterval(std::chrono::seconds ttl) { return Duration(ttl) / 3; }

  std::chrono::seconds ttl_;
  TimePoint deadline_;      // the lease certainly exists until here
  TimePoint next_renewal_;  // when to send the next keep-alive
};

class KeepAlive {
 public:
  virtual ~KeepAlive() = default;
  virtual LeaseId id() const = 0;
  // Until this monotonic time the lease certainly exists (see the header comment).
  virtual TimePoint deadline() const = 0;
  // True once the lease is gone or its deadline passed without an acknowledged renewal.
  virtual bool lost() const = 0;
  virtual const std::string& lostReason() const = 0;
  // Called once, on the event loop, when the lease is lost.
  virtual void onLost(std::function<void(const std::string& reason)> callback) = 0;
  // Stops renewing (the lease then expires by itself unless revoked).
  virtual void stop() = 0;
};
using KeepAlivePtr = std::shared_ptr<KeepAlive>;

class LeaseKeeper {
 public:
  LeaseKeeper(Store& store, boost::asio::any_io_executor executor,
              const Clock& clock = SteadyClock::instance());

  // Keeps `lease` alive; `granted_sent_at` is when its grant was sent.
  KeepAlivePtr keep(LeaseGrantResponse lease, TimePoint granted_sent_at);

  // Grants a lease of `ttl` and keeps it alive.
  boost::asio::awaitable<Result<KeepAlivePtr>> grantAndKeep(std::chrono::seconds ttl);

 private:
  Store& store_;
  boost::asio::any_io_executor executor_;
  const Clock& clock_;
};

}  // namespace rampart::store

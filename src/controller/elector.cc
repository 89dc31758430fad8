#include "controller/elector.h"

#include <cstdio>
#include <ctime>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "kube/resources.h"

namespace rampart::controller {
using json = nlohmann::json;
namespace asio = boost::asio;

std::string formatMicroTime(api::WallTime t) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  std::time_t seconds = static_cast<std::time_t>(micros.count() / 1000000);
  long fraction = static_cast<long>(micros.count() % 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fraction);
  return text;
}

Elector::Elector(kube::Client& client, const Clock& clock, WallClock wall, LeaderConfig config,
                 std::string ns, std::string name)
    : client_(client),
      clock_(clock),
      wall_(std::move(wall)),
      config_(std::move(config)),
      ns_(std::move(ns)),
      name_(std::move(name)) {}

void Elector::setLeading(bool leading, const std::string& reason) {
  if (leading == announced_) {
    return;
  }
  announced_ = leading;
  log::get("leader")->info("{} identity={} lease={}/{} reason=\"{}\"",
                           leading ? "became leader" : "stopped leading", config_.identity, ns_,
                           name_, reason);
  if (on_change_) {
    on_change_(leading);
  }
}

asio::awaitable<Duration> Elector::step() {
  // Past the fencing deadline without a successful renewal: we are no longer the leader, and
  // the writes stopped already (mayAct() is false); now say so.
  if (state_.leading && !controller::mayAct(state_, clock_.now())) {
    stepDown(state_);
    current_ = nullptr;
    setLeading(false, "no renewal succeeded before the fencing deadline");
  }
  json lease = current_;
  if (lease.is_null()) {
    auto read = co_await client_.call("GET", kube::resources::kLeases.object(ns_, name_));
    if (!read) {
      log::get("leader")->debug("lease read failed error={}", read.error().message);
      co_return config_.retry_period;
    }
    if (read->status == 404) {
      lease = nullptr;
    } else if (read->ok()) {
      lease = std::move(read->body);
    } else {
      log::get("leader")->warn("lease read failed status={} message={}", read->status,
                               read->message());
      co_return config_.retry_period;
    }
  }
  LeaseView view = leaseViewOf(lease);
  observe(state_, view, clock_.now());
  LeaderDecision d = decideLeader(state_, view, config_, clock_.now());
  switch (d.kind) {
    case LeaderActionKind::Wait:
      current_ = nullptr;
      co_return d.next_check;
    case LeaderActionKind::StepDown:
      stepDown(state_);
      current_ = nullptr;
      setLeading(false, d.reason);
      co_return d.next_check;
    case LeaderActionKind::Create:
    case LeaderActionKind::Acquire:
    case LeaderActionKind::Renew:
      break;
  }
  json body = leaseToWrite(lease, ns_, name_, config_, formatMicroTime(wall_()));
  TimePoint sent_at = clock_.now();  // the fencing deadline counts from here (leader.h)
  // No co_await inside ?: (g++ 12): choose the request first.
  bool create = d.kind == LeaderActionKind::Create;
  std::string method = create ? "POST" : "PUT";
  std::string target = create ? kube::resources::kLeases.collection(ns_)
                              : kube::resources::kLeases.object(ns_, name_);
  auto written = co_await client_.call(method, target, body.dump());
  if (written && written->ok()) {
    renewed(state_, sent_at, config_);
    current_ = std::move(written->body);
    if (d.kind != LeaderActionKind::Renew || !announced_) {
      setLeading(true, d.reason);
    }
    co_return config_.retry_period;
  }
  current_ = nullptr;  // read it again before the next attempt
  if (written) {
    // 409 (someone wrote first) or AlreadyExists: nothing to do but read again, at once.
    log::get("leader")->debug("lease write refused status={} message={}", written->status,
                              written->message());
    co_return written->status == 409 ? Duration::zero() : config_.retry_period;
  }
  log::get("leader")->debug("lease write failed error={}", written.error().message);
  co_return config_.retry_period;
}

asio::awaitable<void> Elector::run() {
  timer_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
  running_ = true;
  while (!stopped_) {
    Duration wait = co_await step();
    if (stopped_) {
      break;
    }
    if (wait > Duration::zero()) {
      // A leader must notice its own deadline even when the next renewal is far off.
      if (state_.leading) {
        wait = std::min<Duration>(wait, state_.fence_deadline - clock_.now());
        wait = std::max<Duration>(wait, std::chrono::milliseconds(1));
      }
      timer_->expires_after(wait);
      co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  running_ = false;
}

void Elector::stop() {
  stopped_ = true;
  if (timer_) {
    timer_->cancel();
  }
}

asio::awaitable<void> Elector::release() {
  // A renewal still in flight must land first, or it could re-take the Lease after the release.
  asio::steady_timer wait(co_await asio::this_coro::executor);
  for (int i = 0; i < 500 && running_; ++i) {
    wait.expires_after(std::chrono::milliseconds(10));
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  // Past the fencing deadline the Lease may be someone else's already: leave it alone.
  if (!controller::mayAct(state_, clock_.now()) || running_) {
    if (state_.leading) {
      stepDown(state_);
      setLeading(false, "stopped");
    }
    co_return;
  }
  json lease = current_;
  stepDown(state_);
  setLeading(false, "released");
  if (lease.is_null()) {
    co_return;  // we do not know the version we hold: let it expire instead
  }
  json body = leaseToWrite(lease, ns_, name_, config_, formatMicroTime(wall_()), true);
  auto written =
      co_await client_.call("PUT", kube::resources::kLeases.object(ns_, name_), body.dump());
  if (!written || !written->ok()) {
    log::get("leader")->warn("lease release failed: it expires on its own");
  }
  current_ = nullptr;
}

}  // namespace rampart::controller

#pragma once
// Elector: the I/O around leader.h's decision. It reads the Lease (or, while leading, reuses the
// object its last successful write returned), asks decideLeader() what to do, and writes with
// the resourceVersion CAS; it tells the manager when leadership starts and ends. mayAct() is the
// fencing test every write goes through (FencedClient): it turns false at the fencing deadline
// even if a renewal is still in flight. Each request is bounded by the client's timeout; the
// loop waits at most retry_period between reads. Use from the one event loop that runs run().

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "api/table.h"
#include "base/clock.h"
#include "controller/leader.h"
#include "kube/client.h"

namespace rampart::controller {

// "2026-12-06T05:00:00.123456Z": a MicroTime as the API writes Lease renewTime.
std::string formatMicroTime(api::WallTime t);

class Elector {
 public:
  using WallClock = std::function<api::WallTime()>;
  Elector(kube::Client& client, const Clock& clock, WallClock wall, LeaderConfig config,
          std::string ns = "kube-system", std::string name = "rampart-controller");

  // Called on the loop when this candidate starts leading (true) or stops (false).
  void onChange(std::function<void(bool)> hook) { on_change_ = std::move(hook); }
  boost::asio::awaitable<void> run();
  void stop();
  // Writes the Lease released (empty holder) if we lead; call after every write has stopped.
  boost::asio::awaitable<void> release();

  bool mayAct() const { return controller::mayAct(state_, clock_.now()); }
  bool leading() const { return state_.leading; }
  const LeaderConfig& config() const { return config_; }
  const LeaderState& state() const { return state_; }
  // One read-decide-write round (run() repeats it); returns how long to wait before the next.
  boost::asio::awaitable<Duration> step();

 private:
  void setLeading(bool leading, const std::string& reason);

  kube::Client& client_;
  const Clock& clock_;
  WallClock wall_;
  LeaderConfig config_;
  std::string ns_;
  std::string name_;
  LeaderState state_;
  nlohmann::json current_;  // the Lease from our last successful write (null: read it)
  bool stopped_ = false;
  bool running_ = false;
  bool announced_ = false;  // whether on_change_(true) was the last call
  std::function<void(bool)> on_change_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace rampart::controller

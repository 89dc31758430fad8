#pragma once
// HealthState: the per-backend health state machine shared by every checker (Envoy's and
// HAProxy's rise/fall). A backend starts Unknown — it receives traffic, as in lvscare and
// HAProxy, so a restarted balancer does not black-hole everything until the first round. `fall`
// consecutive failures make it Down, `rise` consecutive successes make it Up again. A passive
// failure (a client's connect to it failed) makes it Down at once. Only transitions are reported,
// so callers log and count state changes, not probes. Pure logic; not thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::health {

enum class State { Unknown, Up, Down };
std::string_view stateName(State s);

struct Transition {
  State from;
  State to;
  std::string reason;  // "2 checks failed (connection refused)"
};

class HealthState {
 public:
  HealthState(int rise, int fall) : rise_(rise < 1 ? 1 : rise), fall_(fall < 1 ? 1 : fall) {}

  // A reload may change the thresholds; the current state and counts stay.
  void setThresholds(int rise, int fall) {
    rise_ = rise < 1 ? 1 : rise;
    fall_ = fall < 1 ? 1 : fall;
  }

  std::optional<Transition> onSuccess();
  std::optional<Transition> onFailure(std::string_view why);
  // A client's connection attempt failed: Down at once (the check will bring it back).
  std::optional<Transition> onPassiveFailure(std::string_view why);

  State state() const { return state_; }
  // Up or Unknown: may receive new connections.
  bool usable() const { return state_ != State::Down; }
  const std::string& lastError() const { return last_error_; }

 private:
  std::optional<Transition> moveTo(State to, std::string reason);

  int rise_;
  int fall_;
  State state_ = State::Unknown;
  int successes_ = 0;  // consecutive, since the last failure
  int failures_ = 0;   // consecutive, since the last success
  std::string last_error_;
};

}  // namespace rampart::health

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
  // `initial` Unknown (takes traffic until proven bad) or Down (takes none until a check passes:
  // for role checks, where a member must be confirmed primary before it gets writes).
  HealthState(int rise, int fall, State initial = State::Unknown)
      : rise_(rise < 1 ? 1 : rise), fall_(fall < 1 ? 1 : fall), state_(initial) {}

  // A reload may change the thresholds; the current state and counts stay.
  void setThresholds(int rise, int fall) {
    rise_ = rise < 1 ? 1 : rise;
    fall_ = fall < 1 ? 1 : fall;
  }

  // From Unknown or a Down start, the first pass makes it Up: there is no flapping to damp yet.
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
  State state_;
  bool ever_up_ = false;  // a Down start needs only one pass, a Down after Up needs `rise`
  int successes_ = 0;  // consecutive, since the last failure
  int failures_ = 0;   // consecutive, since the last success
  std::string last_error_;
};

}  // namespace rampart::health

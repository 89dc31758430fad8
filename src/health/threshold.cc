#include "health/threshold.h"

namespace rampart::health {

std::string_view stateName(State s) {
  switch (s) {
    case State::Unknown:
      return "UNKNOWN";
    case State::Up:
      return "UP";
    case State::Down:
      return "DOWN";
  }
  return "UNKNOWN";
}

std::optional<Transition> HealthState::moveTo(State to, std::string reason) {
  if (to == state_) {
    return std::nullopt;
  }
  Transition t{state_, to, std::move(reason)};
  state_ = to;
  return t;
}

std::optional<Transition> HealthState::onSuccess() {
  failures_ = 0;
  ++successes_;
  if (state_ == State::Unknown || (state_ == State::Down && !ever_up_)) {
    ever_up_ = true;
    return moveTo(State::Up, "first check passed");
  }
  if (state_ == State::Down && successes_ >= rise_) {
    ever_up_ = true;
    return moveTo(State::Up, std::to_string(successes_) +
                                 (successes_ == 1 ? " check passed" : " checks passed"));
  }
  return std::nullopt;
}

std::optional<Transition> HealthState::onFailure(std::string_view why) {
  successes_ = 0;
  ++failures_;
  last_error_ = std::string(why);
  if (state_ != State::Down && failures_ >= fall_) {
    return moveTo(State::Down, std::to_string(failures_) +
                                   (failures_ == 1 ? " check failed (" : " checks failed (") +
                                   std::string(why) + ")");
  }
  return std::nullopt;
}

std::optional<Transition> HealthState::onPassiveFailure(std::string_view why) {
  successes_ = 0;
  last_error_ = std::string(why);
  return moveTo(State::Down, "client connect failed (" + std::string(why) + ")");
}

}  // namespace rampart::health

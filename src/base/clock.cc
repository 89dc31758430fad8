#include "base/clock.h"

namespace rampart {

SteadyClock& SteadyClock::instance() {
  static SteadyClock clock;
  return clock;
}

}  // namespace rampart

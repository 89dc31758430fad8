#include "controller/mass_disruption.h"

namespace rampart::controller {

DisruptionVerdict decideMassDisruption(const std::map<std::string, ZoneHealth>& zones,
                                       double unhealthy_threshold) {
  int nodes = 0;
  int down = 0;
  int zones_down = 0;
  for (const auto& [zone, health] : zones) {
    nodes += health.nodes;
    down += health.down;
    zones_down += health.nodes > 0 && health.down == health.nodes ? 1 : 0;
  }
  std::string census = std::to_string(down) + " of " + std::to_string(nodes) + " nodes down";
  if (nodes >= 2 && down == nodes) {
    return {false, census + ": every node went quiet, so the control plane is cut off; "
                            "evictions wait"};
  }
  if (zones_down >= 2) {
    return {false, census + ", " + std::to_string(zones_down) +
                       " whole zones at once: evictions wait"};
  }
  if (nodes >= 3 && static_cast<double>(down) > unhealthy_threshold * nodes) {
    return {false, census + ", more than the unhealthy threshold: evictions wait"};
  }
  return {true, census};
}

}  // namespace rampart::controller

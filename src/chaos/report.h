#pragma once
// Renders a chaos Report: a readable summary, one JSON object (`rampart chaos run --json`), and
// the full write history as JSON lines (--history). Times are milliseconds from the run's start
// (when the writers started); the start's wall-clock time is included so they can be placed.

#include <string>

#include "chaos/scenario.h"

namespace rampart::chaos {

std::string reportText(const Report& report);
std::string reportJson(const Report& report);
std::string historyJsonLines(const Report& report);

}  // namespace rampart::chaos

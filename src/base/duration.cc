#include "base/duration.h"

#include <charconv>
#include <cmath>

namespace rampart {

Result<Duration> parseDuration(std::string_view text) {
  std::string_view original = text;
  if (text.empty()) {
    return fail(ErrorCode::InvalidArgument, "empty duration");
  }
  size_t unit_pos = 0;
  while (unit_pos < text.size() &&
         ((text[unit_pos] >= '0' && text[unit_pos] <= '9') || text[unit_pos] == '.')) {
    ++unit_pos;
  }
  std::string_view number = text.substr(0, unit_pos);
  std::string_view unit = text.substr(unit_pos);
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
    return fail(ErrorCode::InvalidArgument, "invalid duration '", original,
                "': expected a number with a unit such as 100ms, 5s or 1m");
  }
  double nanos_per_unit = 0;
  if (unit.empty() || unit == "s") {
    nanos_per_unit = 1e9;
  } else if (unit == "ms") {
    nanos_per_unit = 1e6;
  } else if (unit == "us") {
    nanos_per_unit = 1e3;
  } else if (unit == "ns") {
    nanos_per_unit = 1;
  } else if (unit == "m") {
    nanos_per_unit = 60e9;
  } else if (unit == "h") {
    nanos_per_unit = 3600e9;
  } else {
    return fail(ErrorCode::InvalidArgument, "invalid duration '", original, "': unknown unit '",
                unit, "' (use ns, us, ms, s, m or h)");
  }
  double nanos = value * nanos_per_unit;
  if (!std::isfinite(nanos) || nanos > 9.2e18) {
    return fail(ErrorCode::InvalidArgument, "duration '", original, "' is too large");
  }
  return Duration(static_cast<int64_t>(std::llround(nanos)));
}

std::string formatDuration(Duration d) {
  using namespace std::chrono;
  auto ns = d.count();
  if (ns % 1'000'000'000 == 0) {
    return std::to_string(ns / 1'000'000'000) + "s";
  }
  if (ns % 1'000'000 == 0) {
    return std::to_string(ns / 1'000'000) + "ms";
  }
  if (ns % 1'000 == 0) {
    return std::to_string(ns / 1'000) + "us";
  }
  return std::to_string(ns) + "ns";
}

}  // namespace rampart

#pragma once
// Parsing and printing of human durations as operators write them: "100ms", "1.5s", "2m",
// "250us"; a plain number is seconds (lvscare's and etcd's convention for --interval-style flags).

#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"

namespace rampart {

Result<Duration> parseDuration(std::string_view text);
std::string formatDuration(Duration d);

}  // namespace rampart

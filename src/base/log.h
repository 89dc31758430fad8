#pragma once
// Structured logging. One named logger per component ("store", "election", "lab", ...);
// messages are logfmt-style key=value text ("lease lost id=42 reason=expired"). The whole
// process writes either human text or one JSON object per line to stderr, chosen once at start.
// Log on state transitions, not on every probe. Thread-safe (spdlog's mt sinks).

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "base/result.h"

namespace rampart::log {

enum class Format { Text, Json };

struct Options {
  Format format = Format::Text;
  spdlog::level::level_enum level = spdlog::level::info;
};

// Installs the process-wide sink and format. Call once from main before any logging; loggers
// created before it are reconfigured.
void init(const Options& options);

// Changes the level of every logger (e.g. on a config reload).
void setLevel(spdlog::level::level_enum level);

// The logger for one component; created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& component);

Result<Format> parseFormat(std::string_view text);
Result<spdlog::level::level_enum> parseLevel(std::string_view text);

}  // namespace rampart::log

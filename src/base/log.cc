#include "base/log.h"

#include <mutex>

#include <spdlog/details/os.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace rampart::log {
namespace {

// One JSON object per line: {"ts":"...","level":"info","component":"store","msg":"..."}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto append = [&dest](std::string_view s) { dest.append(s.data(), s.data() + s.size()); };
    append("{\"ts\":\"");
    auto secs = std::chrono::time_point_cast<std::chrono::seconds>(msg.time);
    auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time - secs).count();
    std::tm tm = spdlog::details::os::gmtime(std::chrono::system_clock::to_time_t(msg.time));
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis));
    append(ts);
    append("\",\"level\":\"");
    auto level = spdlog::level::to_string_view(msg.level);
    append(std::string_view(level.data(), level.size()));
    append("\",\"component\":\"");
    appendEscaped(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    append("\",\"msg\":\"");
    appendEscaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    append("\"}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  static void appendEscaped(spdlog::memory_buf_t& dest, std::string_view s) {
    for (char c : s) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
};

std::mutex g_mutex;
Options g_options;
spdlog::sink_ptr g_sink;

spdlog::sink_ptr sinkLocked() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    if (g_options.format == Format::Json) {
      g_sink->set_formatter(std::make_unique<JsonFormatter>());
    } else {
      g_sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
          "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %n: %v", spdlog::pattern_time_type::utc));
    }
  }
  return g_sink;
}

}  // namespace

void init(const Options& options) {
  std::lock_guard lock(g_mutex);
  g_options = options;
  g_sink.reset();
  auto sink = sinkLocked();
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
    logger->sinks().assign(1, sink);
    logger->set_level(options.level);
  });
}

void setLevel(spdlog::level::level_enum level) {
  std::lock_guard lock(g_mutex);
  g_options.level = level;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) { logger->set_level(level); });
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(component)) {
    return existing;
  }
  auto logger = std::make_shared<spdlog::logger>(component, sinkLocked());
  logger->set_level(g_options.level);
  spdlog::register_logger(logger);
  return logger;
}

Result<Format> parseFormat(std::string_view text) {
  if (text == "text") {
    return Format::Text;
  }
  if (text == "json") {
    return Format::Json;
  }
  return fail(ErrorCode::InvalidArgument, "unknown log format '", text, "' (use text or json)");
}

Result<spdlog::level::level_enum> parseLevel(std::string_view text) {
  for (auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                     spdlog::level::warn, spdlog::level::err, spdlog::level::critical,
                     spdlog::level::off}) {
    auto name = spdlog::level::to_string_view(level);
    if (text == std::string_view(name.data(), name.size())) {
      return level;
    }
  }
  if (text == "warn" || text == "warning") {
    return spdlog::level::warn;
  }
  if (text == "error") {
    return spdlog::level::err;
  }
  return fail(ErrorCode::InvalidArgument, "unknown log level '", text,
              "' (use trace, debug, info, warn, error or off)");
}

}  // namespace rampart::log

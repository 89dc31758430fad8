#include "agent/nodeapi/exec_protocol.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "api/query_values.h"
#include "base/hex.h"

namespace rampart::agent::nodeapi {
using json = nlohmann::json;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

Result<std::string> percentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      int hi = i + 2 < text.size() ? hexValue(text[i + 1]) : -1;
      int lo = hi >= 0 ? hexValue(text[i + 2]) : -1;
      if (lo < 0) {
        return fail(ErrorCode::InvalidArgument, "invalid escape in query: \"", text, "\"");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Go's fmt of a []string: "[a b]".
std::string goList(const std::vector<std::string>& words) {
  std::string out = "[";
  for (size_t i = 0; i < words.size(); ++i) {
    out += (i ? " " : "") + words[i];
  }
  return out + "]";
}

}  // namespace

std::string chooseSubprotocol(std::string_view offered) {
  bool v4 = false;
  while (!offered.empty()) {
    size_t comma = offered.find(',');
    std::string_view one = trim(offered.substr(0, comma));
    if (one == kProtocolV5) {
      return std::string(kProtocolV5);
    }
    v4 = v4 || one == kProtocolV4;
    if (comma == std::string_view::npos) {
      break;
    }
    offered.remove_prefix(comma + 1);
  }
  return v4 ? std::string(kProtocolV4) : std::string();
}

std::string encodeFrame(uint8_t channel, std::string_view data) {
  std::string frame;
  frame.reserve(data.size() + 1);
  frame += static_cast<char>(channel);
  frame.append(data);
  return frame;
}

Result<Frame> decodeFrame(std::string_view message) {
  if (message.empty()) {
    return fail(ErrorCode::InvalidArgument, "empty exec stream message (no channel byte)");
  }
  return Frame{static_cast<uint8_t>(message.front()), message.substr(1)};
}

Result<TerminalSize> parseResize(std::string_view text) {
  json size = json::parse(text, nullptr, false);
  if (size.is_discarded() || !size.is_object()) {
    return fail(ErrorCode::InvalidArgument, "resize message is not a JSON object");
  }
  auto dimension = [&](const char* key) -> std::optional<uint16_t> {
    if (!size.contains(key)) {
      return uint16_t{0};
    }
    const json& v = size[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 65535) {
      return std::nullopt;
    }
    return static_cast<uint16_t>(v.get<int64_t>());
  };
  auto width = dimension("Width");
  auto height = dimension("Height");
  if (!width || !height) {
    return fail(ErrorCode::InvalidArgument, "resize message with a bad Width or Height");
  }
  return TerminalSize{*width, *height};
}

Result<ExecRequest> parseExecQuery(std::string_view raw_query) {
  ExecRequest request;
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq));
    auto value =
        percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key) {
      return fail(key.error());
    }
    if (!value) {
      return fail(value.error());
    }
    if (*key == "command") {
      request.command.push_back(*value);
    } else if (*key == "container") {
      request.container = *value;
    } else if (*key == "stdin" || *key == "stdout" || *key == "stderr" || *key == "tty") {
      auto b = api::parseQueryBool(*key, *value);
      if (!b) {
        return fail(b.error());
      }
      (*key == "stdin"    ? request.stdin_stream
       : *key == "stdout" ? request.stdout_stream
       : *key == "stderr" ? request.stderr_stream
                          : request.tty) = *b;
    }
  }
  if (request.command.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "you must specify at least one command for the container");
  }
  if (!request.stdin_stream && !request.stdout_stream && !request.stderr_stream) {
    return fail(ErrorCode::InvalidArgument, "you must specify at least 1 of stdin, stdout, stderr");
  }
  return request;
}

std::string exitStatusJson(int exit_code, const std::vector<std::string>& command) {
  if (exit_code == 0) {
    return R"({"metadata":{},"status":"Success"})";
  }
  json status = {
      {"metadata", json::object()},
      {"status", "Failure"},
      {"message", "command terminated with non-zero exit code: error executing command " +
                      goList(command) + ", exit code " + std::to_string(exit_code)},
      {"reason", "NonZeroExitCode"},
      {"details",
       {{"causes",
         json::array({{{"reason", "ExitCode"}, {"message", std::to_string(exit_code)}}})}}}};
  return status.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string errorStatusJson(std::string_view message) {
  json status = {{"metadata", json::object()},
                 {"status", "Failure"},
                 {"message", std::string(message)},
                 {"reason", "InternalError"},
                 {"code", 500}};
  return status.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace rampart::agent::nodeapi

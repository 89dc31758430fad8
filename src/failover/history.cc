#include "failover/history.h"

#include <nlohmann/json.hpp>

namespace rampart::failover {
namespace {

using json = nlohmann::json;

json toJson(const FailoverEvent& e) {
  return json{{"kind", e.kind},
              {"old_leader", e.old_leader},
              {"new_leader", e.new_leader},
              {"reason", e.reason},
              {"decision", e.decision},
              {"detected_at_ms", e.detected_at_ms},
              {"decided_at_ms", e.decided_at_ms},
              {"promoted_at_ms", e.promoted_at_ms}};
}

Result<FailoverEvent> fromJson(const json& j) {
  if (!j.is_object()) {
    return fail(ErrorCode::InvalidArgument, "failover event: not a JSON object");
  }
  FailoverEvent e;
  for (auto [key, out] : {std::pair{"kind", &e.kind}, std::pair{"old_leader", &e.old_leader},
                          std::pair{"new_leader", &e.new_leader}, std::pair{"reason", &e.reason},
                          std::pair{"decision", &e.decision}}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      continue;
    }
    if (!it->is_string()) {
      return fail(ErrorCode::InvalidArgument, "failover event: '", key, "' must be a string");
    }
    *out = it->get<std::string>();
  }
  for (auto [key, out] : {std::pair{"detected_at_ms", &e.detected_at_ms},
                          std::pair{"decided_at_ms", &e.decided_at_ms},
                          std::pair{"promoted_at_ms", &e.promoted_at_ms}}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      continue;
    }
    // Only a JSON integer that fits: a float such as 1.7e24 converts with undefined behaviour.
    bool fits = it->is_number_integer() &&
                (!it->is_number_unsigned() ||
                 it->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
    if (!fits) {
      return fail(ErrorCode::InvalidArgument, "failover event: '", key,
                  "' must be a whole number of milliseconds");
    }
    *out = it->get<int64_t>();
  }
  return e;
}

}  // namespace

std::string encodeEvent(const FailoverEvent& e) { return toJson(e).dump(); }

Result<FailoverEvent> decodeEvent(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return fail(ErrorCode::InvalidArgument, "failover event: not a JSON object");
  }
  return fromJson(j);
}

std::string encodeHistory(const std::vector<FailoverEvent>& events) {
  size_t from = events.size() > kHistoryLength ? events.size() - kHistoryLength : 0;
  auto array = json::array();
  for (size_t i = from; i < events.size(); ++i) {
    array.push_back(toJson(events[i]));
  }
  return array.dump();
}

std::string appendEvent(std::vector<FailoverEvent> events, FailoverEvent event) {
  events.push_back(std::move(event));
  return encodeHistory(events);
}

Result<std::vector<FailoverEvent>> decodeHistory(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) {
    return fail(ErrorCode::InvalidArgument, "failover history: not a JSON array");
  }
  std::vector<FailoverEvent> out;
  for (const auto& item : j) {
    if (auto e = fromJson(item)) {
      out.push_back(std::move(*e));
    }
  }
  return out;
}

}  // namespace rampart::failover

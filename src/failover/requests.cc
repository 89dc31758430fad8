#include "failover/requests.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace rampart::failover {
namespace {

Result<void> checkName(const char* field, const std::string& name, bool may_be_empty) {
  if (name.empty()) {
    if (may_be_empty) {
      return ok();
    }
    return fail(ErrorCode::InvalidArgument, "switchover: '", field, "' must name a member");
  }
  bool valid = name.size() <= 63;
  for (char c : name) {
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!valid) {
    return fail(ErrorCode::InvalidArgument, "switchover: '", field,
                "' is not a member name (1-63 characters of a-z, 0-9, _ and -)");
  }
  return ok();
}

// The object `json` with only `allowed` fields; InvalidArgument naming the first other one.
Result<nlohmann::json> objectOf(std::string_view what, std::string_view json,
                                std::initializer_list<const char*> allowed) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) {
    return fail(ErrorCode::InvalidArgument, what, ": not a JSON object");
  }
  for (const auto& item : j.items()) {
    bool known = false;
    for (const char* a : allowed) {
      known = known || item.key() == a;
    }
    if (!known) {
      return fail(ErrorCode::InvalidArgument, what, ": unknown field '", item.key(), "'");
    }
  }
  return j;
}

}  // namespace

std::string encodeSwitchover(const SwitchoverRecord& s) {
  return nlohmann::json{{"from", s.from},
                        {"to", s.to},
                        {"force", s.force},
                        {"handed_over", s.handed_over},
                        {"position", s.position}}
      .dump();
}

Result<SwitchoverRecord> decodeSwitchover(std::string_view json) {
  auto j = objectOf("switchover", json, {"from", "to", "force", "handed_over", "position"});
  if (!j) {
    return fail(j.error());
  }
  SwitchoverRecord s;
  try {
    s.from = j->value("from", std::string());
    s.to = j->value("to", std::string());
    s.force = j->value("force", false);
    s.handed_over = j->value("handed_over", false);
    // Only a whole number in range: a float or a negative number is an error, not a position.
    if (j->contains("position")) {
      const auto& p = j->at("position");
      if (!p.is_number_unsigned()) {
        return fail(ErrorCode::InvalidArgument,
                    "switchover: 'position' must be a non-negative whole number");
      }
      s.position = p.get<Position>();
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::InvalidArgument, "switchover: ", e.what());
  }
  for (auto r : {checkName("from", s.from, true),
                 checkName("to", s.to, !(s.force || s.handed_over))}) {
    if (!r) {
      return fail(r.error());
    }
  }
  return s;
}

Result<SwitchoverRecord> operatorRequest(bool failover, const std::string& to,
                                         const std::string& leader, bool leader_alive,
                                         const std::vector<std::string>& replicas) {
  if (failover && to.empty()) {
    return fail(ErrorCode::InvalidArgument, "failover needs a candidate: {\"to\": \"name\"}");
  }
  if (!to.empty()) {
    if (auto c = checkName("to", to, false); !c) {
      return fail(c.error());
    }
    if (leader_alive && to == leader) {
      return fail(ErrorCode::FailedPrecondition, to, " is the leader already");
    }
    if (std::find(replicas.begin(), replicas.end(), to) == replicas.end()) {
      return fail(ErrorCode::InvalidArgument, "'", to, "' is no running replica of the group");
    }
  }
  if (leader_alive) {
    return SwitchoverRecord{leader, to};
  }
  if (!failover) {
    return fail(ErrorCode::FailedPrecondition,
                "no leader to hand over: use failover with a candidate (\"to\")");
  }
  return SwitchoverRecord{"", to, true};
}

std::string encodeSettings(const GroupSettings& s) {
  return nlohmann::json{{"paused", s.paused}}.dump();
}

Result<GroupSettings> decodeSettings(std::string_view json) {
  auto j = objectOf("config", json, {"paused"});
  if (!j) {
    return fail(j.error());
  }
  GroupSettings s;
  if (j->contains("paused")) {
    if (!j->at("paused").is_boolean()) {
      return fail(ErrorCode::InvalidArgument, "config: 'paused' must be true or false");
    }
    s.paused = j->at("paused").get<bool>();
  }
  return s;
}

}  // namespace rampart::failover

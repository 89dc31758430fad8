#include "pg/state.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace rampart::pg {
namespace {

using nlohmann::json;

Result<json> parseObject(std::string_view text, const char* what) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(ErrorCode::InvalidArgument, what, ": not a JSON object");
  }
  return j;
}

// Reads a JSON value with a fallback, refusing wrong types instead of throwing. Integers must be
// JSON integers within T's range: nlohmann converts a float such as 1.7e24 to int64 with
// undefined behaviour (found by fuzz/values_fuzz.cc).
template <typename T>
Result<void> field(const json& j, const char* key, T& out, const char* what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return ok();
  }
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    bool fits = false;
    if (it->is_number_unsigned()) {
      fits = it->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    } else if (it->is_number_integer()) {
      int64_t v = it->get<int64_t>();
      fits = v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
             (v < 0 || static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
    }
    if (!fits) {
      return fail(ErrorCode::InvalidArgument, what, ": field '", key,
                  "' is not a whole number in range");
    }
  }
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    return fail(ErrorCode::InvalidArgument, what, ": field '", key, "' has the wrong type");
  }
  return ok();
}

Result<Lsn> lsnField(const json& j, const char* key, const char* what) {
  std::string text;
  if (auto r = field(j, key, text, what); !r) {
    return fail(r.error());
  }
  if (text.empty()) {
    return Lsn{0};
  }
  return parseLsn(text);
}

}  // namespace

Result<Lsn> parseLsn(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size()) {
    return fail(ErrorCode::InvalidArgument, "invalid WAL position '", std::string(text), "'");
  }
  uint32_t hi = 0;
  uint32_t lo = 0;
  auto a = std::from_chars(text.data(), text.data() + slash, hi, 16);
  auto b = std::from_chars(text.data() + slash + 1, text.data() + text.size(), lo, 16);
  if (a.ec != std::errc() || a.ptr != text.data() + slash || b.ec != std::errc() ||
      b.ptr != text.data() + text.size()) {
    return fail(ErrorCode::InvalidArgument, "invalid WAL position '", std::string(text), "'");
  }
  return (static_cast<Lsn>(hi) << 32) | lo;
}

std::string formatLsn(Lsn lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

std::string encode(const MemberStatus& s) {
  json j = {{"name", s.name},
            {"host", s.host},
            {"port", s.port},
            {"rest", s.rest},
            {"role", s.role},
            {"state", s.state},
            {"timeline", s.timeline},
            {"write_lsn", formatLsn(s.write_lsn)},
            {"receive_lsn", formatLsn(s.receive_lsn)},
            {"replay_lsn", formatLsn(s.replay_lsn)},
            {"upstream", s.upstream},
            {"nofailover", s.nofailover},
            {"priority", s.priority},
            {"race_rev", s.race_rev},
            {"race_lsn", formatLsn(s.race_lsn)}};
  return j.dump();
}

Result<MemberStatus> decodeMemberStatus(std::string_view text) {
  const char* what = "member status";
  auto j = parseObject(text, what);
  if (!j) {
    return fail(j.error());
  }
  MemberStatus s;
  for (auto r :
       {field(*j, "name", s.name, what), field(*j, "host", s.host, what),
        field(*j, "port", s.port, what), field(*j, "rest", s.rest, what),
        field(*j, "role", s.role, what), field(*j, "state", s.state, what),
        field(*j, "timeline", s.timeline, what), field(*j, "upstream", s.upstream, what),
        field(*j, "nofailover", s.nofailover, what), field(*j, "priority", s.priority, what),
        field(*j, "race_rev", s.race_rev, what)}) {
    if (!r) {
      return fail(r.error());
    }
  }
  for (auto [key, out] :
       {std::pair{"write_lsn", &s.write_lsn}, std::pair{"receive_lsn", &s.receive_lsn},
        std::pair{"replay_lsn", &s.replay_lsn}, std::pair{"race_lsn", &s.race_lsn}}) {
    auto lsn = lsnField(*j, key, what);
    if (!lsn) {
      return fail(lsn.error());
    }
    *out = *lsn;
  }
  if (s.name.empty()) {
    return fail(ErrorCode::InvalidArgument, what, ": no name");
  }
  return s;
}

std::string encode(const SyncState& s) {
  return json{{"leader", s.leader}, {"members", s.members}, {"quorum", s.quorum}}.dump();
}

Result<SyncState> decodeSyncState(std::string_view text) {
  const char* what = "sync state";
  auto j = parseObject(text, what);
  if (!j) {
    return fail(j.error());
  }
  SyncState s;
  for (auto r : {field(*j, "leader", s.leader, what), field(*j, "members", s.members, what),
                 field(*j, "quorum", s.quorum, what)}) {
    if (!r) {
      return fail(r.error());
    }
  }
  std::sort(s.members.begin(), s.members.end());
  return s;
}

std::string synchronousStandbyNames(const SyncState& s) {
  if (s.members.empty() || s.quorum <= 0) {
    return "";
  }
  std::string out = "ANY " + std::to_string(s.quorum) + " (";
  for (size_t i = 0; i < s.members.size(); ++i) {
    out += (i ? ", \"" : "\"") + s.members[i] + "\"";
  }
  return out + ")";
}

std::string encode(const ClusterSettings& s) { return json{{"paused", s.paused}}.dump(); }

Result<ClusterSettings> decodeClusterSettings(std::string_view text) {
  auto j = parseObject(text, "cluster settings");
  if (!j) {
    return fail(j.error());
  }
  ClusterSettings s;
  if (auto r = field(*j, "paused", s.paused, "cluster settings"); !r) {
    return fail(r.error());
  }
  return s;
}

std::string encode(const SwitchoverRequest& s) {
  return json{{"from", s.from},
              {"to", s.to},
              {"force", s.force},
              {"handover_lsn", formatLsn(s.handover_lsn)},
              {"ready_revision", s.ready_revision}}
      .dump();
}

Result<SwitchoverRequest> decodeSwitchoverRequest(std::string_view text) {
  const char* what = "switchover request";
  auto j = parseObject(text, what);
  if (!j) {
    return fail(j.error());
  }
  SwitchoverRequest s;
  for (auto r :
       {field(*j, "from", s.from, what), field(*j, "to", s.to, what),
        field(*j, "force", s.force, what), field(*j, "ready_revision", s.ready_revision, what)}) {
    if (!r) {
      return fail(r.error());
    }
  }
  auto lsn = lsnField(*j, "handover_lsn", what);
  if (!lsn) {
    return fail(lsn.error());
  }
  s.handover_lsn = *lsn;
  return s;
}

}  // namespace rampart::pg

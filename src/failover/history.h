#pragma once
// The failover history of a group: the last failovers and switchovers, each written by the
// member that became the new leader, as a JSON array under <prefix>/history (kHistoryLength
// newest kept). The same shape for every database (`rampart pg` and `rampart redis` share it), so
// the chaos checker and the demo read either. Times are wall-clock Unix milliseconds, so that
// other processes can line them up with their own records.
//
// Pure: values and JSON codecs; everything decoded is validated (it comes from etcd).
// Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace rampart::failover {

inline constexpr size_t kHistoryLength = 20;

struct FailoverEvent {
  std::string kind;  // failover | switchover
  std::string old_leader;
  std::string new_leader;
  std::string reason;    // why the old leader went ("leader key released", "switchover requested")
  std::string decision;  // why this candidate ("the most advanced of every member heard")
  int64_t detected_at_ms = 0;
  int64_t decided_at_ms = 0;
  int64_t promoted_at_ms = 0;
  bool operator==(const FailoverEvent&) const = default;
};

std::string encodeEvent(const FailoverEvent& e);
// InvalidArgument for anything but an object of the fields above with their types (missing
// fields take their defaults; integers must be whole numbers in range).
Result<FailoverEvent> decodeEvent(std::string_view json);

// The newest kHistoryLength of `events` as the stored JSON array.
std::string encodeHistory(const std::vector<FailoverEvent>& events);
// The history `events` with `event` appended, the oldest dropped beyond kHistoryLength, as JSON.
std::string appendEvent(std::vector<FailoverEvent> events, FailoverEvent event);
// A stored history; malformed entries are skipped (one bad write does not hide the rest), a
// value that is no JSON array is an error.
Result<std::vector<FailoverEvent>> decodeHistory(std::string_view json);

}  // namespace rampart::failover

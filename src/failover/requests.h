#pragma once
// The operator's requests to a failover group, as they are kept in the store beside the leader
// key (engine.h), and how they are encoded. Keys under the engine's prefix:
//   switchover  a planned switchover or a forced failover (one at a time):
//               {"from": "m1", "to": "m2", "force": false, "handed_over": false, "position": 0}
//               written by the operator's call (from: the leader then, to: "" = the leader's
//               choice); rewritten by the old leader in the transaction that hands the key over
//               (handed_over, to: the member chosen, position: its last write); deleted by the
//               new leader once it is writable, or by the leader that abandons it
//   config      {"paused": true}: maintenance, no automatic action (tick.h)
// Everything read here comes from the store, which others write: decoding validates every
// field and rejects what it does not know, so a malformed value is an error, never a request.
//
// Pure: values and JSON codecs. Thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "failover/database.h"
#include "failover/tick.h"

namespace rampart::failover {

struct SwitchoverRecord {
  std::string from;          // the leader it was asked of ("" any leader)
  std::string to;            // the target ("" the leader's choice)
  bool force = false;        // failover --to: the target takes the key without a handover
  bool handed_over = false;  // the old leader handed the key to `to`
  Position position = 0;     // handed_over: the old leader's last write
  bool operator==(const SwitchoverRecord&) const = default;

  SwitchoverFacts facts() const { return SwitchoverFacts{from, to, force, handed_over}; }
};

std::string encodeSwitchover(const SwitchoverRecord& s);
// InvalidArgument for anything but the object above: unknown or mistyped fields, a name that is
// not 1-63 characters of [a-z0-9_-], a forced request without a target, a handover without one.
Result<SwitchoverRecord> decodeSwitchover(std::string_view json);

// The request an operator's call writes, from the group as the answering member sees it:
//   switchover [to]  needs a leader that heartbeats (FailedPrecondition: "use failover");
//                    from = that leader; `to`, when given, a running replica
//   failover to      `to` required; with a leader that heartbeats it is a switchover to `to`
//                    (nothing is lost: the leader hands over), without one a forced request
//                    (`to` takes the key whatever the others hold)
// InvalidArgument for a malformed name or one that is no running replica (`replicas`: the
// members whose status says so); FailedPrecondition when `to` leads already.
Result<SwitchoverRecord> operatorRequest(bool failover, const std::string& to,
                                         const std::string& leader, bool leader_alive,
                                         const std::vector<std::string>& replicas);

struct GroupSettings {
  bool paused = false;
  bool operator==(const GroupSettings&) const = default;
};
std::string encodeSettings(const GroupSettings& s);
Result<GroupSettings> decodeSettings(std::string_view json);

}  // namespace rampart::failover

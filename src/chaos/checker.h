#pragma once
// The history checker: pure logic over what the writers recorded, no I/O, so every verdict is
// unit-tested with hand-built histories (etcd's robustness tests are the model: record a history
// while faults happen, then verify it).
//
// A history is every write attempt: its unique id, which writer sent it, when it was sent and
// when it completed (monotonic clock), and its outcome. Acked means the server answered the
// write with success (PostgreSQL: the INSERT's commit; Redis: EXEC, and for the durable writer
// WAIT counting a replica). A promised ack is one the cluster guarantees to keep (every
// PostgreSQL commit; a Redis write once WAIT counted a replica); losing an unpromised one (a plain
// Redis write) is measured and reported, not a failure. Failed means the server refused the write
// and nothing of it was applied (PostgreSQL: rolled back; Redis: the transaction discarded).
// Anything else (timeout, broken connection, FATAL, a WAIT that counted no replica) is unknown:
// it may or may not have been kept, so it can be neither lost nor counted against the cluster.
//
// Verdicts:
//  - lost: promised acked ids missing on the final primary (unpromised ones are counted apart).
//  - split brain: a tenure is (server, epoch) taken from the acks, the epoch being what changes
//    when a server becomes primary again: PostgreSQL's timeline, Redis's master_replid. For a
//    tenure T, E(T) is its earliest ack completion and L(T) the latest send time of an ack. T1 and
//    T2 overlap iff E(T1) < L(T2) and E(T2) < L(T1): each committed something before the other
//    committed something, so both accepted writes at once. A server promoted again later (X, Y, X)
//    has a new epoch and so is a new tenure; acks that only straddle through network latency (sent
//    before the other tenure's first ack completed) do not count.
//  - unavailability, from the VIP writer's acks only (the pinned writers model stale clients):
//    per fault, the longest gap between consecutive ack completions (the run's end counts as a
//    final point) among the gaps that end after the fault started, up to the next fault's start
//    (a gap running into the next fault counts only up to that start); the time from the
//    fault's start to the first ack of a write sent after it; and the time to the ack that ended
//    the longest gap (writes back for good). Gaps that end after the fault include the one
//    containing the fault time and also a later outage: a killed postmaster's backends may still
//    commit for a while (seen: a write acked 56 ms after SIGKILL, then 3.4 s without one).

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/clock.h"

namespace rampart::chaos {

enum class Outcome { Acked, Failed, Unknown };

struct Attempt {
  int64_t id = 0;
  std::string writer;  // "vip" or "pinned-<member>"
  TimePoint sent{};
  TimePoint done{};
  Outcome outcome = Outcome::Unknown;
  // Acked only: the member that committed it (by server port) and its epoch ("tl2" for
  // PostgreSQL's timeline 2, the master_replid for Redis).
  std::string server;
  std::string epoch;
  bool promised = true;  // see the header comment
  bool warned = false;   // the server sent a WARNING with the ack (e.g. a cancelled sync-rep wait)
};

struct Tenure {
  std::string server;
  std::string epoch;
  TimePoint first_ack_done{};  // E(T)
  TimePoint last_ack_sent{};   // L(T)
  int64_t acks = 0;
};

struct SplitBrain {
  Tenure a;  // the tenure whose first ack completed first
  Tenure b;
  // Both tenures demonstrably accepted writes between these points: from the later first ack to
  // the earlier last send (ordered, so from <= to).
  TimePoint from{};
  TimePoint to{};
};

struct FaultWindow {
  TimePoint start{};
  TimePoint end{};
};

struct Unavailability {
  Duration longest_gap{};  // see the header comment
  // Fault start -> the first ack of a write sent after it; nullopt: none. A killed postmaster's
  // backend may still ack a few writes, so this can be short while the outage comes later.
  std::optional<Duration> first_ack_after{};
  // Fault start -> the ack that ended the longest gap: when writes were back for good. nullopt:
  // the longest gap ran to the next fault or the end without an ack. Meaningful only when the
  // longest gap is an outage; after a fault that caused none it marks the worst jitter.
  std::optional<Duration> recovered_after{};
};

struct CheckInput {
  std::vector<Attempt> attempts;
  std::unordered_set<int64_t> present;  // ids found on the final primary
  bool present_known = true;            // false: no final primary could be read; lost unchecked
  std::string vip_writer = "vip";
  std::vector<FaultWindow> faults;  // in time order
  TimePoint end{};                  // when the writers stopped
};

struct CheckResult {
  int64_t acked = 0;
  int64_t failed = 0;
  int64_t unknown = 0;
  int64_t acked_with_warning = 0;
  int64_t vip_acked = 0;
  int64_t vip_failed = 0;
  int64_t vip_unknown = 0;
  std::vector<int64_t> lost_ids;  // sorted; promised acks only
  int64_t unpromised_acked = 0;
  int64_t unattributed =
      0;  // acks naming no server or epoch: in no tenure, unchecked for split brain
  std::vector<int64_t> unpromised_lost_ids;  // sorted; reported, not a failure
  int64_t failed_present = 0;                // failed writes found on the final primary (anomaly)
  int64_t unknown_present = 0;               // unknown writes that did commit (informational)
  std::vector<Tenure> tenures;               // ordered by first ack
  std::vector<SplitBrain> split_brains;
  std::vector<Unavailability> per_fault;  // one per CheckInput::faults
  Duration longest_gap{};                 // between any two consecutive VIP acks

  bool passed() const { return lost_ids.empty() && split_brains.empty(); }
};

CheckResult checkHistory(const CheckInput& input);

// The tenures of the acked writes (exposed for tests and reports).
std::vector<Tenure> tenuresOf(const std::vector<Attempt>& attempts);
bool overlaps(const Tenure& a, const Tenure& b);

// The timeline in a WAL file name ("000000020000000000000003" -> 2); nullopt if malformed.
std::optional<uint32_t> timelineOfWalFile(const std::string& walfile);

}  // namespace rampart::chaos

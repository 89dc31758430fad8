#pragma once
// A chaos run: writers on, a fault, writers off, then the history checker (chaos/checker.h).
// The same run drives PostgreSQL and Redis clusters; what differs (how a write is made and
// attributed, who streams from whom, which process is the server) is the cluster kind's
// datastore (chaos/datastore.h).
//
//   1. wait (bounded) for one member answering /primary; prepare the datastore through the write
//      VIP (PostgreSQL: create the table);
//   2. start the VIP writer (Redis: confirming each write with WAIT 1, plus a plain VIP writer
//      whose losses are measured, not promised) and one pinned writer per member
//      (chaos/writer.h); wait for a first acknowledged write;
//   3. wait (bounded by `recovery_timeout`) until the cluster is healthy: one member answers
//      /primary, every other one /replica, and a write through the VIP was acknowledged since
//      the wait began; write for `before`; check health again; inject the fault into the primary
//      of that moment (or into etcd), then keep writing for `after` from the fault's end.
//      `random` repeats step 3 `faults` times; a cluster that does not heal in time ends the
//      series (FAIL);
//   4. from each fault's end, measure (bounded) until the old primary streams from the new one
//      (PostgreSQL: pg_stat_replication of the primary, application_name = member name, state
//      streaming; Redis: INFO replication of the primary, the member's port, state online), up
//      to the next fault;
//   5. stop the writers, read the ids on the final primary, check.
//
// Faults: kill-server (SIGKILL of the database server; called kill-postmaster on PostgreSQL,
// where kill-server is accepted too), kill-manager (SIGKILL, restart from start_command after
// `manager_restart_delay`, manager_pid rewritten in the cluster file), freeze (SIGSTOP manager,
// server and the server's children for `freeze`), switchover (switchover_command with a
// replica as candidate), etcd-member (SIGSTOP the raft leader, or a random member if the leader
// cannot be told, for `etcd_down`), etcd-all (every member), partition (the primary's manager
// and server cut off the network, both ways, for `partition`: chaos/partition.h; root only).
// Everything stopped is resumed and every cut healed on every path (Pause, Isolation).
//
// Blocking; one run at a time per cluster. `cancel` (e.g. set from a SIGINT handler) ends the run
// early, still resuming stopped processes and stopping the writers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "chaos/checker.h"
#include "chaos/cluster.h"

namespace rampart::chaos {

// Every scenario name.
const std::vector<std::string>& scenarioNames();

struct ScenarioOptions {
  std::string scenario;
  double rate = 100;       // VIP writer, writes per second
  double pinned_rate = 0;  // each pinned writer; 0: rate / 2
  Duration before = std::chrono::seconds(2);
  Duration after = std::chrono::seconds(6);
  Duration freeze = std::chrono::seconds(3);
  Duration partition = std::chrono::seconds(3);
  Duration etcd_down = std::chrono::seconds(10);
  std::optional<uint64_t> seed;  // random choices (fault kinds, candidates); default: random
  int faults = 20;               // random only
  Duration write_timeout = std::chrono::seconds(2);
  Duration connect_timeout = std::chrono::seconds(1);
  Duration recovery_timeout = std::chrono::seconds(60);
  Duration command_timeout = std::chrono::seconds(60);
  Duration manager_restart_delay = std::chrono::seconds(1);
  const std::atomic<bool>* cancel = nullptr;
};

struct FaultRecord {
  std::string kind;
  std::string target;       // what was signalled, e.g. "m1 postmaster pid 4242"
  std::string old_primary;  // the primary when the fault began
  TimePoint start{};
  TimePoint end{};     // kill: = start; restart, SIGCONT, command return otherwise
  std::string error;   // non-empty: the fault was not (fully) injected
  std::string detail;  // e.g. the switchover command's output
  std::optional<Duration> old_primary_streaming;  // from `end`; nullopt: not measured
};

struct Report {
  std::string scenario;
  std::string kind;  // the cluster's kind
  uint64_t seed = 0;
  TimePoint start{};  // steady clock, when the writers started
  std::chrono::system_clock::time_point start_wall{};
  TimePoint end{};  // when the writers stopped
  std::vector<FaultRecord> faults;
  std::vector<Attempt> attempts;
  CheckResult check;
  std::string final_primary;                 // "" if none answered
  std::optional<std::string> failover_json;  // last /history entry of the final primary (rampart)
  std::vector<std::string> problems;         // why the verdict is FAIL; empty: PASS

  bool passed() const { return problems.empty(); }
};

// Checks what the scenario needs from the cluster file (e.g. switchover_command), before
// anything is touched. InvalidArgument naming the file and the field, or the scenario.
Result<void> validateScenario(const Cluster& cluster, const ScenarioOptions& options);

// Runs the scenario. Errors only when the run could not start (InvalidArgument: see
// validateScenario; Unavailable: no primary, or no write acknowledged through the VIP); anything
// that goes wrong once writes are recorded is in Report::problems.
Result<Report> runScenario(const Cluster& cluster, const ScenarioOptions& options);

}  // namespace rampart::chaos

#pragma once
// `rampart redis lab`: a whole Redis group on loopback for tests, benchmarks and the demo: a
// 3-member etcd, N member managers (each `rampart redis --config`, each supervising its own
// redis-server and answering the Sentinel protocol on a port of its own), and one `rampart lb`
// with a write VIP (health check: each member's REST /primary, 200 only on the writable leader)
// and a read VIP (/replica). Everything runs detached, so the lab outlives the command; up()
// returns once a write through the write VIP is acknowledged by WAIT by every replica. The
// description it writes (<dir>/cluster.json) has the PostgreSQL lab's shape (pg/lab.h) plus the
// Sentinel addresses:
//   {"kind": "rampart-redis", "dir", "members": [{"name", "host", "port", "data_dir",
//    "manager_pid", "rest", "sentinel", "start_command", "log_file", "config"}],
//    "etcd": [{"name", "pid", "client"}], "write_vip", "read_vip", "lb_pid",
//    "master_name", "sentinels": ["127.0.0.1:port", ...]}
// etcd runs without TLS here (the PostgreSQL lab shows the TLS set-up).

#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::redis {

struct LabOptions {
  int members = 3;
  std::string dir;
  std::string binary;  // the rampart executable (default: this one)
  Duration ready_timeout = std::chrono::seconds(90);
};

Result<nlohmann::json> labUp(const LabOptions& options);
// Stops everything the lab in `dir` started (only processes whose command line names the lab's
// files). Idempotent; returns how many processes were stopped.
Result<int> labDown(const std::string& dir);

}  // namespace rampart::redis

#pragma once
// `rampart pg lab`: a whole PostgreSQL cluster on loopback for tests, benchmarks and the demo:
// a 3-member etcd, N member managers (each `rampart pg --config`, each supervising its own
// postgres), and one `rampart lb` with a write VIP (health check: each member's REST /primary)
// and a read VIP (/replica). Everything runs detached, so the lab outlives the command; up()
// returns once a primary takes writes through the write VIP and every replica streams in the
// synchronous set. The description it writes (<dir>/cluster.json) is what `rampart chaos` reads:
//   {"kind": "rampart", "dir", "members": [{"name", "host", "port", "data_dir", "manager_pid",
//    "rest", "start_command", "log_file", "config"}], "etcd": [{"name", "pid", "client"}],
//    "write_vip", "read_vip", "lb_pid", "user", "password", "database", "token",
//    "switchover_command", "etcd_tls": {"ca", "cert", "key"} (with tls),
//    "rest_tls": {"ca", "cert", "key"} (with tls: the lab's client certificate for the REST APIs,
//    whose "rest" addresses are then https://)}

#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/result.h"

namespace rampart::pg {

struct LabOptions {
  int members = 3;
  std::string dir;
  std::string binary;  // the rampart executable (default: this one)
  Duration ready_timeout = std::chrono::seconds(120);
  // etcd over https:// with client certificates and etcd auth: each member authenticates as its
  // own user whose role may use only <prefix>/<cluster>/ (pg-lab-m1, ...; passwords 0600 in the
  // member's directory); the members' REST APIs over HTTPS only, with client certificates from
  // the lab's CA (rest.tls with client_auth). `--no-tls` turns both off.
  bool tls = true;
};

Result<nlohmann::json> labUp(const LabOptions& options);
// Stops everything the lab in `dir` started (only processes whose command line names the lab's
// files). Idempotent; returns how many processes were stopped.
Result<int> labDown(const std::string& dir);

}  // namespace rampart::pg

#pragma once
// What every local lab (`rampart pg lab`, `rampart redis lab`) shares besides its etcd
// (etcd_cluster.h): its state file (<dir>/cluster.json, which `rampart chaos` and `lab down`
// read), the small file and REST helpers its start-up uses, and the stop of what it started,
// which signals only processes whose command line still names the lab's files (never a
// recycled PID). Blocking; thread-compatible (no shared state).

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "lab/etcd_cluster.h"

namespace rampart::lab {

// Checks a lab's --dir and --members (1..9) and makes the directory with `mode`: its absolute
// path, or why not (FailedPrecondition when a lab already runs there; `command` names the
// lab, e.g. "rampart pg lab", for the message's `down` hint).
Result<std::string> makeLabDir(const std::string& dir, int members, const std::string& command,
                               mode_t mode);

// The last `count` lines of a log file, for an error message that shows why a process stopped.
std::string lastLines(const std::string& path, size_t count);
// `bytes` random bytes as hex (passwords and tokens of a lab).
std::string randomHex(size_t bytes);
Result<void> writeText(const std::string& path, const std::string& text, mode_t mode);
// GET http://<rest><path> with a 1 s deadline: the status code, or 0.
int restStatus(const std::string& rest, const std::string& path);
// <dir>/cluster.json, or null when absent or unreadable.
nlohmann::json readState(const std::string& dir);
// Signals `pid` only if its command line still mentions `marker`; SIGKILL after `grace`.
bool stopIfOurs(pid_t pid, const std::string& marker, int signal, Duration grace);

// Starts the lab's 3-member etcd under <dir>/etcd, detached (it outlives the command), with its
// state file written; with `tls`, over https with client certificates and etcd auth. Records
// it in `state` ("etcd": [{"name", "pid", "client"}], with tls "etcd_tls": {"ca", "cert",
// "key"}) and returns it with its client endpoints as a YAML flow list's items ("a, b, c").
struct LabEtcd {
  std::unique_ptr<EtcdCluster> cluster;
  std::string endpoints;
};
Result<LabEtcd> startLabEtcd(const std::string& dir, bool tls, nlohmann::json& state);

// Spawns one member manager, detached (`<binary> <role> --config <config_file>`, logging to
// <member_dir>/manager.log), and returns its entry of the lab's "members": {"name", "host",
// "port", "data_dir" (<member_dir>/data), "manager_pid", "rest", "start_command", "log_file",
// "config"}.
Result<nlohmann::json> startLabMember(const std::string& binary, const std::string& role,
                                      const std::string& name, const std::string& member_dir,
                                      uint16_t port, uint16_t rest_port,
                                      const std::string& config_file);

// One virtual server of a lab's `rampart lb`: health-checked on the members' REST API (every
// 50 ms; every 10 ms while a write VIP has no member up: a failover), on_down: close.
struct LabVip {
  std::string name;         // "write" | "read"
  uint16_t port = 0;        // on 127.0.0.1
  std::string health_path;  // e.g. "/primary"
  bool write = false;       // round-robin and the fast outage interval (else least-connections)
  std::string protocol;     // "" or e.g. "postgres"
  std::string statuses;     // extra health keys, e.g. ", status: 200, promoting_status: 202"
  std::string health_type = "http";  // or "https" (with a `tls: {...}` among the extra keys)
};
std::string labVipYaml(const LabVip& vip, const std::string& backends);
// One backend line of a VIP: the member's server, checked on its REST port.
std::string labBackendYaml(uint16_t port, uint16_t rest_port);

// `lab down`, in two halves around what a database leaves behind: first the load balancer
// (lb_pid, marker <dir>/lb.yaml) and the member managers (manager_pid, marker: their config,
// SIGTERM with 20 s to stop their servers), then the lab's etcd; the state files are renamed
// *.down. Each returns how many processes it stopped.
int stopBalancerAndManagers(const std::string& dir, const nlohmann::json& state);
int stopEtcdAndRetire(const std::string& dir);

}  // namespace rampart::lab

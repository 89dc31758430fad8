#pragma once
// Cluster: what `rampart chaos` knows about the cluster under test, read from the JSON file a lab
// writes (`rampart pg lab up --json`, the Patroni lab, `rampart redis lab up --json`). It names
// every process the harness may signal (manager_pid, etcd pids; the database servers are found
// through them: a postmaster through <data_dir>/postmaster.pid, a redis-server through INFO
// server's process_id, each checked against /proc) and how to reach everything (member REST
// APIs, write VIP, credentials). The harness signals no other process.
//
// Parsing is strict about the fields it uses (each error names the file and the field, e.g.
// "/tmp/lab/cluster.json: members[1].port: expected an integer 1-65535") and ignores keys it does
// not use, so both labs can add their own. Fields only some scenarios need (manager_pid,
// start_command, switchover_command, etcd) are optional here and checked by the scenario.
// Values; thread-compatible.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/endpoint.h"
#include "net/tls.h"

namespace rampart::chaos {

struct Member {
  std::string name;
  std::string host;
  uint16_t port = 0;
  std::string data_dir;
  pid_t manager_pid = 0;                   // 0: not given
  net::Endpoint rest;                      // Patroni-shaped REST API: /primary, /replica
  std::vector<std::string> start_command;  // restarts the manager (kill-manager)
  std::string log_file;                    // the restarted manager's output is appended here
};

struct EtcdMember {
  std::string name;
  pid_t pid = 0;
  net::Endpoint client;
};

struct Cluster {
  std::string path;  // the file it was read from ("" when parsed from text)
  std::string kind;  // "rampart" or "patroni" (PostgreSQL), "rampart-redis"
  std::string dir;
  std::vector<Member> members;
  std::vector<EtcdMember> etcd;
  net::TlsFiles etcd_tls;  // "etcd_tls": {ca, cert, key}: for https:// etcd members
  net::TlsFiles rest_tls;  // "rest_tls": {ca, cert, key}: for https:// member REST APIs
  net::Endpoint write_vip;
  std::optional<net::Endpoint> read_vip;
  std::string user = "postgres";
  std::string password;
  std::string database = "postgres";
  // Placeholders {leader} and {candidate} are replaced by member names.
  std::vector<std::string> switchover_command;

  const Member* member(const std::string& name) const;
  // The member whose PostgreSQL listens on `port` (every member is on loopback).
  const Member* memberByPort(int port) const;
};

// Reads and validates a cluster file. Errors are InvalidArgument (or NotFound for a missing
// file) and name the file and the field.
Result<Cluster> loadCluster(const std::string& path);
// Same, from text; `name` stands for the file in error messages.
Result<Cluster> parseCluster(const std::string& text, const std::string& name);

// Rewrites members[name].manager_pid in the file at `path`, atomically (temporary file in the
// same directory, fsync, rename), keeping every other key as it was.
Result<void> updateManagerPid(const std::string& path, const std::string& member, pid_t pid);

// `argv` with {leader} and {candidate} replaced.
std::vector<std::string> substituteCommand(std::vector<std::string> argv, const std::string& leader,
                                           const std::string& candidate);

}  // namespace rampart::chaos

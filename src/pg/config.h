#pragma once
// The configuration of one PostgreSQL member manager (`rampart pg --config member.yaml`):
//
//   cluster: demo                          # members of one cluster share this name
//   name: m1                               # unique in the cluster; also the replication slot
//   etcd: { endpoints: [127.0.0.1:2379], prefix: /rampart/pg, request_timeout: 500ms }
//   postgres:
//     listen: 127.0.0.1:5433               # where clients and replicas connect
//     data_dir: /var/lib/rampart/m1/data
//     bin_dir: /usr/lib/postgresql/15/bin
//     parameters: { shared_buffers: 64MB } # extra postgresql.conf settings
//   rest:
//     listen: 127.0.0.1:8008
//     token_file: /etc/rampart/operator.token  # or token: the operator credential (operator calls)
//     member_token_file: /etc/rampart/member.token  # or member_token: shared by the members, only
//                                          # for failsafe (ha.failsafe is off without it)
//   credentials:                           # or `credentials_file: secrets.yaml` (same keys)
//     superuser:   { user: postgres,   password: ... }
//     replication: { user: replicator, password: ... }
//   ha:
//     leader_timeout: 1s        # no heartbeat for this long: the leader is gone
//     heartbeat_interval: 100ms # the leader rewrites its key this often
//     fence_margin: 300ms       # the leader fences itself this long before others may take over
//     loop_interval: 100ms      # status refresh and reconciliation
//     synchronous_mode: true    # on by default; only members of the sync set may be promoted
//     synchronous_mode_strict: false
//     synchronous_node_count: 1
//     maximum_lag_on_failover: 1048576   # bytes (asynchronous mode)
//     failsafe: true            # etcd down: a primary that reaches every member keeps serving
//   tags: { nofailover: false, priority: 1 }
//
// Errors name file:line and the field. Passwords are never logged or printed.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "net/endpoint.h"

namespace rampart::pg {

struct Credential {
  std::string user;
  std::string password;
};

struct HaSettings {
  Duration leader_timeout = std::chrono::seconds(1);
  Duration heartbeat_interval = std::chrono::milliseconds(100);
  Duration fence_margin = std::chrono::milliseconds(300);
  Duration loop_interval = std::chrono::milliseconds(100);
  bool synchronous_mode = true;
  bool synchronous_mode_strict = false;
  int synchronous_node_count = 1;
  int64_t maximum_lag_on_failover = 1 << 20;
  bool failsafe = true;
};

struct MemberConfig {
  std::string cluster;
  std::string name;
  std::vector<net::Endpoint> etcd_endpoints;
  std::string etcd_prefix = "/rampart/pg";
  Duration etcd_request_timeout = std::chrono::milliseconds(500);
  net::Endpoint listen;
  std::string data_dir;
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  std::map<std::string, std::string> parameters;
  net::Endpoint rest{"127.0.0.1", 8008};
  std::string token;         // operator credential; empty: operator REST calls are refused
  std::string member_token;  // member credential (failsafe only); empty: failsafe is off
  Credential superuser{"postgres", ""};
  Credential replication{"replicator", ""};
  HaSettings ha;
  bool nofailover = false;
  int priority = 1;
  std::string os_user = "postgres";  // postgres runs as this user when the manager is root

  // Where this member's keys live: <prefix>/<cluster>/
  std::string keyPrefix() const { return etcd_prefix + "/" + cluster + "/"; }
};

Result<MemberConfig> parseMemberConfig(const config::Section& root);
Result<MemberConfig> loadMemberConfig(const std::string& path);

// Names that are safe as replication slot names and application_name: [a-z0-9_], 1..63.
Result<void> checkMemberName(const std::string& name);

}  // namespace rampart::pg

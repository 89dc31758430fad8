#pragma once
// The configuration of one Redis member manager (`rampart redis --config member.yaml`):
//
//   cluster: demo                 # members of one group share this name
//   name: m1                      # unique in the group
//   etcd: { endpoints: [127.0.0.1:2379], prefix: /rampart/redis, request_timeout: 500ms,
//           tls: {ca, cert, key}, user, password_file }        (store/etcd_config.h)
//   redis:
//     listen: 127.0.0.1:6380      # where clients and replicas reach this member's redis-server
//     dir: /var/lib/rampart/m1    # its data directory (redis.conf, the AOF, redis.log)
//     redis_server: redis-server  # the binary
//     min_replicas_to_write: 1    # a master refuses writes with fewer good replicas (0: never)
//     min_replicas_max_lag: 10s   # a replica silent this long is no good replica (whole seconds)
//     unresponsive_timeout: 1s    # a running redis-server silent this long is killed (frozen):
//                                 # the engine then fails a master over (redis_database.h)
//   sentinel:                     # optional: the Sentinel protocol for Sentinel-aware clients
//     listen: 127.0.0.1:26380
//     master_name: mymaster       # the name clients ask get-master-addr-by-name for
//   rest:                         # /primary /replica /health /cluster /history, /metrics
//     listen: 127.0.0.1:8008
//     token_file: /etc/rampart/operator.token   # or token: ...; the operator credential that
//                                 # POST /switchover /failover /pause /resume require (none: refused)
//     member_token_file: /etc/rampart/member.token  # or member_token: shared by the members,
//                                 # only for the failsafe's POST /failsafe (ha.failsafe is off
//                                 # without it); must differ from the operator's
//   ha:
//     leader_timeout: 1s  heartbeat_interval: 100ms  fence_margin: 300ms  loop_interval: 100ms
//     members: 3           # the group's size n, for the durability rule (redis/durability.h)
//     wait_replicas: 1     # the k of the WAIT k the clients count a write as durable with
//     failsafe: true       # etcd down: a master every other member vouches for keeps serving
//                          # (failover/engine.h); off, it refuses writes at its deadline
//
// Errors name file:line:col and the field. Values only; thread-compatible.

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "net/endpoint.h"
#include "redis/durability.h"
#include "redis/server.h"
#include "store/etcd_store.h"

namespace rampart::redis {

struct MemberHa {
  Duration leader_timeout = std::chrono::seconds(1);
  Duration heartbeat_interval = std::chrono::milliseconds(100);
  Duration fence_margin = std::chrono::milliseconds(300);
  Duration loop_interval = std::chrono::milliseconds(100);
  DurabilityRule durability;
  bool failsafe = true;  // only with a member credential (MemberConfig::member_token)
};

struct MemberConfig {
  std::string cluster;
  std::string name;
  store::EtcdOptions etcd;
  std::string etcd_prefix = "/rampart/redis";
  ServerConfig server;  // its dir, bind and port from redis.listen and redis.dir
  Duration unresponsive_timeout = std::chrono::seconds(1);
  bool sentinel = false;
  net::Endpoint sentinel_listen;
  std::string master_name = "mymaster";
  net::Endpoint rest{"127.0.0.1", 8008};
  std::string rest_token;  // the operator credential ("" none: operator calls are refused)
  std::string member_token;  // the member credential (failsafe only; "" none: no failsafe)
  MemberHa ha;

  // Where this group's keys live: <prefix>/<cluster> (no trailing slash: the engine's prefix).
  std::string keyPrefix() const { return etcd_prefix + "/" + cluster; }
  bool failsafeEnabled() const { return ha.failsafe && !member_token.empty(); }
};

Result<MemberConfig> parseMemberConfig(const config::Section& root);
Result<MemberConfig> loadMemberConfig(const std::string& path);

}  // namespace rampart::redis

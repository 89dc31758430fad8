#pragma once
// The Redis member manager (`rampart redis --config member.yaml`): runs next to one redis-server,
// supervises it through RedisDatabase and takes part in the group's leadership through etcd with
// failover::Engine (the same leader key, fencing deadline and race as PostgreSQL's engine, with
// Redis's durability rule, durability.h). On the Daemon's one event loop it drives the engine
// (tick every loop_interval, heartbeat every heartbeat_interval, the fencing deadline every
// 10 ms), answers REST and feeds the Sentinel-protocol port:
//   GET /primary   200 only on the writable leader (holds the key before its fencing deadline,
//                  its server a master that takes writes), else 503
//   GET /replica   200 on a running replica replicating from the leader, else 503
//   GET /health    200 while redis-server runs
//   GET /cluster   JSON: {"cluster", "leader", "members": [{"name", "host", "port", "role",
//                  "position"}]} as the store has them
//   GET /history   the group's last failovers and switchovers (failover/history.h)
//   POST /switchover, /failover, /pause, /resume: the operator calls (operator_rest.h); the
//                  tick runs every 10 ms while such a request is pending
//   /metrics, /healthz, /readyz from the Daemon's admin server, which this extends
// The Sentinel port (sentinel.listen) answers get-master-addr-by-name / masters / replicas /
// sentinels from the engine's view (sentinelView) and the other members' Sentinel ports, which
// each publishes under <prefix>/sentinels/<name> on a lease of its own (otherSentinels), and
// publishes +switch-master when the leader's address changes (sentinel_server.h).
//
// The engine calls the database inline (failover/engine.h), so a slow redis-server command
// delays this loop by at most its timeout (redis_database.cc); the server is started by the
// loop's thread, the main thread, so it dies with the manager (PR_SET_PDEATHSIG).

#include <map>
#include <optional>
#include <string>

#include "failover/engine.h"
#include "redis/member_config.h"
#include "redis/sentinel_protocol.h"
#include "runtime/daemon.h"
#include "store/types.h"

namespace rampart::redis {

// What the Sentinel port tells clients, from the engine's view: the master is the leader's
// address once its status says it serves as primary; until then (a failover under way, or no
// leader) the previous master stays, as a Sentinel keeps it until it has promoted a replica.
// Replicas: the other members whose status says replica. nullopt: no master known yet.
// `others`: the other members' Sentinel ports (SENTINEL sentinels, num-other-sentinels).
std::optional<SentinelSnapshot> sentinelView(
    const std::string& master_name, const std::string& leader,
    const std::map<std::string, failover::MemberRecord>& members,
    const std::optional<SentinelSnapshot>& previous,
    const std::vector<SentinelSnapshot::Sentinel>& others = {});

// The other members' Sentinel ports from the keys under <prefix>/sentinels/ (each member
// publishes "host:port" there on a lease of its own); malformed values are skipped.
std::vector<SentinelSnapshot::Sentinel> otherSentinels(const std::string& prefix,
                                                       const std::string& me,
                                                       const std::vector<store::KeyValue>& kvs);

// GET /cluster's body.
std::string clusterJson(const std::string& cluster, const std::string& leader,
                        const std::map<std::string, failover::MemberRecord>& members);

// The group as `rampart redis list` prints it: one line per member (name, address, role, offset),
// the leader marked.
std::string formatGroup(const std::string& leader,
                        const std::map<std::string, failover::MemberRecord>& members);

// The group's leader and member statuses as etcd holds them under config.keyPrefix().
struct GroupKeys {
  std::string leader;
  std::map<std::string, failover::MemberRecord> members;
};
GroupKeys groupFromKeys(const std::string& prefix, const std::vector<store::KeyValue>& kvs);

// Runs the member on `daemon` until SIGTERM/SIGINT; returns the exit code.
int runMember(runtime::Daemon& daemon, MemberConfig config);

}  // namespace rampart::redis

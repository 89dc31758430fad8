#pragma once
// The Redis Sentinel protocol as Sentinel-aware clients speak it, answered from a snapshot:
// pure (no I/O, no clock), so what `rampart redis` tells clients about the current master is
// decided here and tested without sockets. The caller owns the connections: it parses requests
// with parseRequest (resp.h), passes each argv here with the connection's SentinelSession, and
// writes the returned bytes.
//
// Answered like Redis 7.0's Sentinel (field names, order and error texts were checked against a
// real redis-sentinel): SENTINEL get-master-addr-by-name | masters | master | replicas | slaves |
// sentinels, PING, ROLE, CLIENT SETNAME | GETNAME, HELLO, AUTH, QUIT; any other command gets
// Sentinel's "unknown command" (or "unknown subcommand") error. Deliberate differences: RESP2
// only (HELLO 3 answers NOPROTO, so clients stay on RESP2); no users or passwords (AUTH with a
// password fails as on a Sentinel without requirepass). Not yet answered, though real Sentinel
// does: INFO, and the Sentinel-to-Sentinel and admin subcommands (IS-MASTER-DOWN-BY-ADDR, MYID,
// MONITOR, SET, FAILOVER, ...). Pub/sub (SUBSCRIBE, the +switch-master events) is
// sentinel_pubsub.h, which SentinelServer consults before this.
// Thread-safe: the functions keep no state; a SentinelSession belongs to one connection.

#include <cstdint>
#include <string>
#include <vector>

namespace rampart::redis {

struct SentinelAddress {
  std::string ip;
  uint16_t port = 0;
};

// What one Sentinel knows of one monitored group, at one moment.
struct SentinelSnapshot {
  std::string master_name;
  SentinelAddress master;
  std::string master_run_id;              // "" when not known yet
  std::vector<std::string> master_flags;  // besides "master": e.g. "s_down", "o_down"
  int quorum = 2;
  int64_t down_after_ms = 30000;
  int64_t failover_timeout_ms = 180000;
  int parallel_syncs = 1;
  int64_t config_epoch = 0;
  int64_t last_ok_ping_ms = 0;  // since the master last answered

  struct Replica {
    SentinelAddress address;
    std::string run_id;
    std::vector<std::string> flags;  // besides "slave"
    bool master_link_up = true;      // master-link-status ok | err
    int64_t master_link_down_ms = 0;
    int priority = 100;  // slave-priority
    int64_t offset = 0;  // slave-repl-offset
    int64_t last_ok_ping_ms = 0;
  };
  std::vector<Replica> replicas;

  struct Sentinel {
    SentinelAddress address;
    std::string run_id;
    int64_t last_ok_ping_ms = 0;
  };
  std::vector<Sentinel> sentinels;  // the other Sentinels (num-other-sentinels)

  std::string version = "7.0.15";  // what HELLO reports as the server's version
};

// Per connection: what the client told us about itself.
struct SentinelSession {
  int64_t id = 0;           // the connection's id, as HELLO reports it
  std::string client_name;  // CLIENT SETNAME
  bool close = false;       // set by QUIT: write the reply, then close the connection
};

// The RESP2 bytes answering `argv` (one command with its arguments). Empty argv (an empty
// inline line) gets no reply: "".
std::string answerSentinel(const SentinelSnapshot& snapshot, const std::vector<std::string>& argv,
                           SentinelSession& session);

}  // namespace rampart::redis

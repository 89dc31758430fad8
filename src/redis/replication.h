#pragma once
// Pure parsers of what a Redis server says about replication: the ROLE reply and the text of
// INFO replication. No I/O; thread-safe (no state).
//
// Every field the callers rely on is validated: a missing, malformed or out-of-range field is
// an InvalidArgument error naming the field, never a silent 0 (a 0 offset would look like a
// replica that has nothing, and could win or lose an election by mistake). Fields this code
// does not know are ignored, so newer servers still parse.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "redis/reply.h"

namespace rampart::redis {

// ROLE on a master: ["master", offset, [[ip, port, offset], ...]].
struct MasterRole {
  int64_t offset = 0;  // master_repl_offset
  struct Replica {
    std::string ip;
    uint16_t port = 0;
    int64_t offset = 0;  // what the replica acknowledged
    friend bool operator==(const Replica&, const Replica&) = default;
  };
  std::vector<Replica> replicas;
  friend bool operator==(const MasterRole&, const MasterRole&) = default;
};

// The replica's link to its master, as ROLE words it.
enum class LinkState {
  None,        // "none": no master configured (transient, while REPLICAOF NO ONE runs)
  Connect,     // "connect": must connect
  Connecting,  // "connecting"
  Handshake,   // "handshake": PING/AUTH/REPLCONF exchange (Redis 6+)
  Sync,        // "sync": receiving the RDB
  Connected,   // "connected": streaming
};
const char* linkStateName(LinkState state);

// ROLE on a replica: ["slave", master_host, master_port, state, offset].
struct ReplicaRole {
  std::string master_host;
  uint16_t master_port = 0;
  LinkState state = LinkState::Connect;
  // The replication offset processed; nullopt when the server reports -1 (no link to a master
  // yet, so there is no offset to compare).
  std::optional<int64_t> offset;
  friend bool operator==(const ReplicaRole&, const ReplicaRole&) = default;
};

// ROLE on a Sentinel: ["sentinel", [master names]].
struct SentinelRole {
  std::vector<std::string> masters;
  friend bool operator==(const SentinelRole&, const SentinelRole&) = default;
};

using Role = std::variant<MasterRole, ReplicaRole, SentinelRole>;

Result<Role> parseRole(const Reply& reply);

// The fields of INFO replication that failover needs.
struct InfoReplication {
  enum class Kind { Master, Replica };
  Kind role = Kind::Master;        // role:master | role:slave
  int64_t master_repl_offset = 0;  // required on both
  int connected_slaves = 0;        // required on both
  // master_replid: the history this server's data belongs to; a promotion starts a new one.
  // 40 hex digits when present; "" when absent (servers before Redis 4).
  std::string master_replid;
  // Replicas only (required there, absent on a master):
  std::string master_host;                   // master_host
  uint16_t master_port = 0;                  // master_port
  bool master_link_up = false;               // master_link_status:up|down
  std::optional<int64_t> slave_repl_offset;  // slave_repl_offset
  // Masters: one per slaveN line, in N order.
  struct Slave {
    int index = 0;       // N of slaveN
    std::string ip;      // ip=
    uint16_t port = 0;   // port=
    std::string state;   // state= (wait_bgsave, send_bulk, online)
    int64_t offset = 0;  // offset=
    int64_t lag = 0;     // lag= (seconds since its last ack)
    friend bool operator==(const Slave&, const Slave&) = default;
  };
  std::vector<Slave> slaves;
  friend bool operator==(const InfoReplication&, const InfoReplication&) = default;
};

// Parses the text of INFO replication (also a whole INFO: other sections are ignored).
Result<InfoReplication> parseInfoReplication(std::string_view text);

// The value of one `key:value` line of an INFO text (e.g. "tcp_port", "process_id"), without
// its line end; nullopt when the key is not there.
std::optional<std::string> infoField(std::string_view text, std::string_view key);

}  // namespace rampart::redis

// Redis as a chaos datastore. Each write is one transaction on one connection:
//
//   MULTI; SADD rampart_chaos:<run> <id>; INFO server replication; EXEC   [; WAIT 1 <ms>]
//
// so the reply names the server that applied it (tcp_port -> member) and the replication id it
// applied it under (master_replid, the tenure's epoch: a promotion starts a new one), read
// atomically with the write. A durable writer then asks WAIT 1: acked only when a replica has the
// write (the promise `rampart redis` keeps across failovers); a write the master applied but no
// replica confirmed in time is unknown. A plain writer's write is acked at EXEC (measured, not
// promised). A refused write (READONLY on a replica, NOREPLICAS on a fenced master) is queued as
// an error, so the transaction is discarded: failed, nothing applied.
//
// Followers from INFO replication's slaveN lines (state=online); the server's PID from INFO
// server's process_id, checked against /proc.

#include <thread>

#include "chaos/datastore.h"
#include "chaos/processes.h"
#include "redis/client.h"
#include "redis/replication.h"
#include "runtime/process.h"

namespace rampart::chaos {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// One set per run ("rampart_chaos:<run>"), so the final read fetches this run's ids only.
std::string keyOf(int64_t run) { return "rampart_chaos:" + std::to_string(run); }

// What is left until `deadline`, at least 1 ms (a zero timeout would mean "no bound" to some
// callers; an expired deadline fails at the next call anyway).
Duration left(TimePoint deadline) {
  return std::max<Duration>(deadline - steady_clock::now(), milliseconds(1));
}

bool isStatus(const Result<redis::Reply>& r, const char* text) {
  return r && r->type == redis::Reply::Type::Status && r->str == text;
}

class RedisWriteSession : public WriteSession {
 public:
  RedisWriteSession(redis::Client client, const WriteMode& mode, std::string key,
                    const std::map<int, std::string>& by_port)
      : client_(std::move(client)), mode_(mode), key_(std::move(key)), by_port_(by_port) {}

  Result<bool> isPrimary(TimePoint deadline) override {
    auto reply = client_.command({"ROLE"}, left(deadline));
    if (!reply) {
      drop();
      return fail(reply.error());
    }
    auto role = redis::parseRole(*reply);
    if (!role) {
      drop();
      return fail(role.error());
    }
    return std::holds_alternative<redis::MasterRole>(*role);
  }

  WriteOutcome write(int64_t id, const std::string&, TimePoint deadline) override {
    WriteOutcome out;  // Unknown until the server says otherwise
    if (!isStatus(client_.command({"MULTI"}, left(deadline)), "OK")) {
      drop();
      return out;
    }
    auto queued = client_.command({"SADD", key_, std::to_string(id)}, left(deadline));
    if (queued && queued->isError()) {
      // Refused before anything ran (READONLY, NOREPLICAS): leave the transaction.
      if (isStatus(client_.command({"DISCARD"}, left(deadline)), "OK")) {
        out.outcome = Outcome::Failed;
      } else {
        drop();
      }
      return out;
    }
    if (!isStatus(queued, "QUEUED") ||
        !isStatus(client_.command({"INFO", "server", "replication"}, left(deadline)), "QUEUED")) {
      drop();
      return out;
    }
    auto exec = client_.command({"EXEC"}, left(deadline));
    if (!exec) {
      drop();  // sent: it may or may not have run
      return out;
    }
    if (exec->isError()) {
      // EXECABORT: the transaction was discarded (Redis >= 6.2 always says so). Any other error
      // leaves the connection's state unknown: not reused.
      if (exec->str.rfind("EXECABORT", 0) == 0) {
        out.outcome = Outcome::Failed;
      } else {
        drop();
      }
      return out;
    }
    if (exec->type != redis::Reply::Type::Array || exec->elements.size() != 2) {
      drop();  // not what EXEC of these two commands answers: the write's fate is unknown
      return out;
    }
    if (exec->elements[0].isError()) {
      out.outcome = Outcome::Failed;  // the SADD itself failed: nothing applied
      return out;
    }
    const std::string& info = exec->elements[1].str;
    auto port = redis::infoField(info, "tcp_port");
    auto replid = redis::infoField(info, "master_replid");
    std::string server;
    if (port) {
      auto it = by_port_.find(std::atoi(port->c_str()));
      server = it != by_port_.end() ? it->second : "port:" + *port;
    }
    std::string epoch = replid.value_or("");
    if (mode_.durable) {
      // WAIT's own timeout ends 50 ms before the deadline so that its answer still arrives.
      auto wait_ms = std::max<int64_t>(
          1, std::chrono::duration_cast<milliseconds>(left(deadline)).count() - 50);
      auto wait = client_.command({"WAIT", "1", std::to_string(wait_ms)}, left(deadline));
      if (!wait) {
        drop();
        return out;
      }
      if (wait->type != redis::Reply::Type::Integer || wait->integer < 1) {
        drop();  // applied by the master, not confirmed by a replica: not promised
        return out;
      }
    }
    out.outcome = Outcome::Acked;
    out.server = server;  // "" when INFO could not place it: no tenure
    out.epoch = epoch;
    return out;
  }

  bool broken() const override { return dropped_ || client_.broken(); }

 private:
  // After a failed exchange the connection may be mid-transaction: never reuse it.
  void drop() { dropped_ = true; }

  redis::Client client_;
  WriteMode mode_;
  std::string key_;
  const std::map<int, std::string>& by_port_;
  bool dropped_ = false;
};

class RedisDatastore : public Datastore {
 public:
  explicit RedisDatastore(const Cluster& cluster)
      : cluster_(cluster), by_port_(membersByPort(cluster)) {}

  bool promises(const WriteMode& mode) const override { return mode.durable; }
  std::vector<std::pair<std::string, WriteMode>> extraVipWriters() const override {
    return {{"vip-plain", WriteMode{.pinned = false, .durable = false}}};
  }

  // Checks, through the write VIP, that the server answers INFO server replication (Redis 7)
  // with what places a write in a tenure: without it every ack would be in no tenure and a split
  // brain would go unseen.
  Result<void> prepare(int64_t run, TimePoint deadline, const std::atomic<bool>* cancel) override {
    key_ = keyOf(run);
    std::string last = "no attempt";
    // Bounded by the deadline; the VIP may need a moment to route to the master.
    while (steady_clock::now() < deadline && !(cancel && cancel->load())) {
      auto client =
          redis::Client::connect(cluster_.write_vip, std::min<Duration>(left(deadline), 1s));
      if (client) {
        auto info = client->command({"INFO", "server", "replication"}, left(deadline));
        if (info && info->type == redis::Reply::Type::String) {
          if (!redis::infoField(info->str, "tcp_port") ||
              !redis::infoField(info->str, "master_replid")) {
            return fail(ErrorCode::FailedPrecondition, "write_vip ", cluster_.write_vip.toString(),
                        ": INFO server replication names no tcp_port or master_replid: writes "
                        "could not be attributed to a tenure");
          }
          return ok();
        }
        if (info && info->isError()) {
          return fail(ErrorCode::FailedPrecondition, "write_vip ", cluster_.write_vip.toString(),
                      ": INFO server replication: ", info->str.substr(0, 200),
                      " (Redis 7 is needed)");
        }
        last =
            info ? std::string("INFO server replication: unexpected reply") : info.error().message;
      } else {
        last = client.error().message;
      }
      std::this_thread::sleep_for(200ms);
    }
    return fail(ErrorCode::Unavailable, "no answer through write_vip ",
                cluster_.write_vip.toString(), ": ", last);
  }

  Result<std::unique_ptr<WriteSession>> connect(const std::string& host, int port,
                                                const WriteMode& mode,
                                                TimePoint deadline) const override {
    auto client =
        redis::Client::connect(net::Endpoint{host, static_cast<uint16_t>(port)}, left(deadline));
    if (!client) {
      return fail(client.error());
    }
    return std::unique_ptr<WriteSession>(
        new RedisWriteSession(std::move(*client), mode, key_, by_port_));
  }

  Result<std::vector<Follower>> followersOf(const Member& primary,
                                            Duration timeout) const override {
    auto deadline = steady_clock::now() + timeout;
    auto info = infoOf(primary, "replication", deadline);
    if (!info) {
      return fail(info.error());
    }
    auto parsed = redis::parseInfoReplication(*info);
    if (!parsed) {
      return fail(ErrorCode::InvalidArgument, primary.name, ": ", parsed.error().message);
    }
    std::vector<Follower> out;
    for (const auto& slave : parsed->slaves) {
      auto it = by_port_.find(slave.port);
      if (slave.state == "online" && it != by_port_.end()) {
        out.push_back(Follower{it->second, ""});
      }
    }
    return out;
  }

  Result<pid_t> serverPid(const Member& m, Duration timeout) const override {
    auto info = infoOf(m, "server", steady_clock::now() + timeout);
    if (!info) {
      return fail(info.error());
    }
    auto field = redis::infoField(*info, "process_id");
    char* end = nullptr;
    long pid = field ? std::strtol(field->c_str(), &end, 10) : 0;
    if (!field || field->empty() || *end != '\0' || pid <= 1) {
      return fail(ErrorCode::InvalidArgument, m.name, ": INFO server: no valid process_id");
    }
    if (!runtime::isAlive(static_cast<pid_t>(pid)) ||
        commandName(static_cast<pid_t>(pid)) != serverCommand()) {
      return fail(ErrorCode::NotFound, m.name, ": process_id ", *field,
                  " is not a running redis-server on this machine");
    }
    return static_cast<pid_t>(pid);
  }
  std::string serverWhat() const override { return "redis-server"; }
  std::string serverCommand() const override { return "redis-server"; }

  Result<std::unordered_set<int64_t>> readIds(const Member& primary, int64_t first, int64_t last,
                                              Duration timeout) const override {
    auto reply = commandOn(primary, {"SMEMBERS", key_}, redis::Reply::Type::Array,
                           steady_clock::now() + timeout);
    if (!reply) {
      return fail(reply.error());
    }
    std::unordered_set<int64_t> out;
    for (const auto& e : reply->elements) {
      char* end = nullptr;
      long long id = std::strtoll(e.str.c_str(), &end, 10);
      if (e.type == redis::Reply::Type::String && !e.str.empty() && *end == '\0' && id >= first &&
          id <= last) {
        out.insert(id);
      }
    }
    return out;
  }

 private:
  static net::Endpoint endpointOf(const Member& m) { return net::Endpoint{m.host, m.port}; }

  // One command on member `m` by a fresh connection, its reply checked to be of type `want`.
  Result<redis::Reply> commandOn(const Member& m, const std::vector<std::string>& args,
                                 redis::Reply::Type want, TimePoint deadline) const {
    auto client = redis::Client::connect(endpointOf(m), left(deadline));
    if (!client) {
      return fail(client.error());
    }
    auto reply = client->command(args, left(deadline));
    if (!reply) {
      return fail(reply.error());
    }
    if (reply->type != want) {
      std::string what = args.size() > 1 ? args[0] + " " + args[1] : args.at(0);
      return fail(ErrorCode::InvalidArgument, m.name, ": ", what, ": expected ",
                  redis::replyTypeName(want), ", got ", redis::replyTypeName(reply->type));
    }
    return std::move(*reply);
  }

  Result<std::string> infoOf(const Member& m, const std::string& section,
                             TimePoint deadline) const {
    auto reply = commandOn(m, {"INFO", section}, redis::Reply::Type::String, deadline);
    if (!reply) {
      return fail(reply.error());
    }
    return std::move(reply->str);
  }

  const Cluster cluster_;  // a copy: immutable while writers use it
  std::map<int, std::string> by_port_;
  std::string key_ = keyOf(0);  // set by prepare(), before any session
};

}  // namespace

std::unique_ptr<Datastore> makeRedisDatastore(const Cluster& cluster) {
  return std::make_unique<RedisDatastore>(cluster);
}

}  // namespace rampart::chaos

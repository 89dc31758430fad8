#include "redis/redis_database.h"

#include <filesystem>
#include <thread>
#include <variant>

#include "base/log.h"
#include "redis/client.h"
#include "redis/replication.h"

namespace rampart::redis {
namespace {

using namespace std::chrono_literals;

constexpr Duration kCommandTimeout = 1s;
constexpr Duration kObserveTimeout = 300ms;
constexpr Duration kStartTimeout = 30s;
constexpr Duration kStopTimeout = 10s;
// A switchover's CLIENT PAUSE lasts at most this long: the engine ends it within its
// switchover_timeout, and if the manager stalls past it the fence still refuses writes.
constexpr Duration kHoldLimit = 5s;

net::Endpoint endpointOf(const failover::Address& a) { return net::Endpoint{a.host, a.port}; }

// Asks the replica at `at` for the offset it processed (ROLE), every 2 ms, until it reaches
// `target`; at most `timeout` in all, connecting included. Only a replica of `master` counts:
// an offset in another master's history says nothing about this one's writes.
Result<void> awaitReplicaOffset(const net::Endpoint& at, const net::Endpoint& master,
                                int64_t target, Duration timeout, const Clock& clock) {
  auto deadline = clock.now() + timeout;
  auto left = [&] { return std::max<Duration>(deadline - clock.now(), 1ms); };
  auto client = Client::connect(at, left(), clock);
  if (!client) {
    return fail(client.error());
  }
  std::optional<int64_t> seen;
  for (;;) {
    auto reply = client->command({"ROLE"}, left());
    if (!reply) {
      return fail(reply.error());
    }
    auto role = parseRole(*reply);
    const auto* replica = role ? std::get_if<ReplicaRole>(&*role) : nullptr;
    if (!replica) {
      return fail(ErrorCode::FailedPrecondition, "redis ", at.hostPort(), " is not a replica");
    }
    if (replica->master_host != master.host || replica->master_port != master.port) {
      return fail(ErrorCode::FailedPrecondition, "redis ", at.hostPort(), " replicates from ",
                  replica->master_host, ":", std::to_string(replica->master_port), ", not from ",
                  master.hostPort());
    }
    seen = replica->offset;
    if (seen && *seen >= target) {
      return ok();
    }
    if (clock.now() >= deadline) {
      return fail(ErrorCode::DeadlineExceeded, "redis ", at.hostPort(), " did not reach offset ",
                  std::to_string(target), " within ",
                  std::to_string(static_cast<int64_t>(toMillis(timeout))), " ms (last: ",
                  seen ? std::to_string(*seen) : std::string("none"), ")");
    }
    std::this_thread::sleep_for(std::min<Duration>(2ms, deadline - clock.now()));
  }
}

}  // namespace

failover::ServerState stateFrom(const Observation& o) {
  failover::ServerState s;
  s.running = o.running;
  s.has_data = o.has_data;
  if (!o.running) {
    return s;
  }
  if (!o.role) {
    // Unreachable (frozen, overloaded): still what it was told to be, so its status does not
    // claim a primary; the engine acts on nothing it cannot reach (failover/tick.h).
    s.replica = o.fenced || o.upstream.has_value();
    return s;
  }
  s.reachable = true;
  // A fenced master refuses writes and follows no one: the engine's "detached replica".
  s.replica = !o.role->master || o.fenced;
  s.replicating =
      !o.role->master && o.role->link_up && o.upstream && o.role->following == o.upstream;
  s.position = o.role->offset && *o.role->offset > 0 ? static_cast<uint64_t>(*o.role->offset) : 0;
  return s;
}

bool killUnresponsive(std::optional<TimePoint> unanswered_since, TimePoint now, Duration limit) {
  return unanswered_since && now - *unanswered_since >= limit;
}

bool hasDataSet(const std::string& dir) {
  std::error_code ec;
  namespace fs = std::filesystem;
  return fs::exists(fs::path(dir) / "appendonlydir", ec) ||
         fs::exists(fs::path(dir) / "dump.rdb", ec);
}

RedisDatabase::RedisDatabase(ServerConfig config, Duration unresponsive_timeout, const Clock& clock)
    : config_(config),
      unresponsive_timeout_(unresponsive_timeout),
      clock_(clock),
      server_(std::move(config), clock) {}

failover::ServerState RedisDatabase::observe() {
  Observation o;
  o.running = server_.running();
  o.fenced = fenced_ || held_;  // held: takes no write either (failover/database.h)
  o.upstream = upstream_;
  o.has_data = hasDataSet(config_.dir);
  if (o.running) {
    // Counted from its last answer, not from the first ROLE that went unanswered: a frozen
    // master is failed over that much sooner.
    auto asked_at = clock_.now();
    if (auto role = server_.position(kObserveTimeout)) {
      o.role = *role;
      last_answer_ = asked_at;
    } else if (!last_answer_) {
      last_answer_ = asked_at;
    } else if (killUnresponsive(last_answer_, clock_.now(), unresponsive_timeout_)) {
      log::get("redis")->warn("redis-server {} has not answered for {} ms: killing it",
                              server_.endpoint().hostPort(),
                              static_cast<int64_t>(toMillis(clock_.now() - *last_answer_)));
      (void)server_.stop(Duration::zero());
      last_answer_.reset();
      o.running = false;
    }
  } else {
    last_answer_.reset();
  }
  return stateFrom(o);
}

Result<void> RedisDatabase::bootstrap() { return startPrimary(); }

Result<void> RedisDatabase::startPrimary() {
  upstream_.reset();
  fenced_ = false;
  held_ = false;
  return server_.startAsMaster(kStartTimeout);
}

Result<void> RedisDatabase::startReplica(const std::optional<failover::Address>& upstream) {
  held_ = false;  // a new process
  if (!upstream) {
    fenced_ = true;
    upstream_.reset();
    return server_.startFenced(kStartTimeout);
  }
  upstream_ = endpointOf(*upstream);
  return server_.startAsReplicaOf(*upstream_, kStartTimeout);
}

Result<void> RedisDatabase::stop() {
  upstream_.reset();
  return server_.stop(kStopTimeout);
}

Result<void> RedisDatabase::promote() {
  if (auto r = server_.promote(kCommandTimeout); !r) {
    return r;
  }
  fenced_ = false;
  upstream_.reset();
  endHold();  // the held writes run on the new master
  return ok();
}

Result<failover::Position> RedisDatabase::follow(const std::optional<failover::Address>& upstream) {
  if (upstream) {
    auto ep = endpointOf(*upstream);
    if (auto r = server_.follow(ep, kCommandTimeout); !r) {
      return fail(r.error());
    }
    upstream_ = ep;
    endHold();  // a replica now: the held writes are refused (READONLY)
  } else {
    // Refuse writes before it becomes a master, so it never takes one (redis_database.h).
    if (auto r = server_.fence(kCommandTimeout); !r) {
      return fail(r.error());
    }
    fenced_ = true;
    auto detached = server_.command({"REPLICAOF", "NO", "ONE"}, kCommandTimeout);
    if (!detached) {
      return fail(detached.error());
    }
    if (detached->type != Reply::Type::Status) {
      return fail(ErrorCode::Unavailable, "REPLICAOF NO ONE: ", detached->str);
    }
    upstream_.reset();
  }
  auto pos = server_.position(kCommandTimeout);
  if (!pos) {
    return fail(pos.error());
  }
  return static_cast<failover::Position>(pos->offset && *pos->offset > 0 ? *pos->offset : 0);
}

Result<void> RedisDatabase::rejoin(const failover::Address& leader, bool /*may_have_diverged*/) {
  // Redis decides itself between a partial and a full resynchronisation, and a full one drops
  // whatever a former master held beyond the leader's history: nothing to rewind here.
  auto ep = endpointOf(leader);
  if (server_.running()) {
    if (auto r = server_.follow(ep, kCommandTimeout); r) {
      upstream_ = ep;
      endHold();  // a replica now: the held writes are refused (READONLY)
      return ok();
    }
    (void)server_.stop(kStopTimeout);
  }
  held_ = false;  // a new process follows
  upstream_ = ep;
  return server_.startAsReplicaOf(ep, kStartTimeout);
}

Result<failover::Position> RedisDatabase::holdWrites() {
  // Held before the answer: a pause whose reply was lost still gets its UNPAUSE (endHold).
  held_ = true;
  if (auto r = server_.pauseWrites(kHoldLimit, kCommandTimeout); !r) {
    return fail(r.error());
  }
  return masterOffset();
}

Result<failover::Position> RedisDatabase::sealWrites() {
  fenced_ = true;
  if (auto r = server_.fence(kCommandTimeout); !r) {
    return fail(r.error());
  }
  return masterOffset();
}

Result<failover::Position> RedisDatabase::masterOffset() {
  auto pos = server_.position(kCommandTimeout);
  if (!pos) {
    return fail(pos.error());
  }
  if (!pos->master) {
    return fail(ErrorCode::FailedPrecondition, "redis ", server_.endpoint().hostPort(),
                " is not a master: nothing to hand over");
  }
  return static_cast<failover::Position>(pos->offset && *pos->offset > 0 ? *pos->offset : 0);
}

Result<void> RedisDatabase::resumeWrites() {
  if (auto r = server_.unfence(kCommandTimeout); !r) {
    return r;
  }
  fenced_ = false;
  endHold();
  return ok();
}

void RedisDatabase::endHold() {
  if (!held_) {
    return;
  }
  if (auto r = server_.unpause(kCommandTimeout); !r) {
    // The pause ends by itself within kHoldLimit; until then writes wait rather than fail.
    log::get("redis")->warn("CLIENT UNPAUSE: {}", r.error().message);
  }
  held_ = false;
}

Result<void> RedisDatabase::awaitReplica(const failover::Address& replica,
                                         failover::Position position, Duration timeout) {
  return awaitReplicaOffset(endpointOf(replica), server_.endpoint(),
                            static_cast<int64_t>(position), timeout, clock_);
}

void RedisDatabase::fence() {
  fenced_ = true;
  if (!server_.running()) {
    return;
  }
  if (auto r = server_.fence(kObserveTimeout); !r) {
    // Not answering (frozen, overloaded): it must not acknowledge a write either way.
    (void)server_.stop(Duration::zero());
  }
}

}  // namespace rampart::redis

#include "redis/server.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <variant>

#include "redis/replication.h"
#include "runtime/process.h"

namespace rampart::redis {

using namespace std::chrono_literals;

namespace {

// How long stop() waits after each SIGTERM before sending the next (see stop()).
constexpr Duration kShutdownRetry = 200ms;

// redis.conf values are written in double quotes; Redis's config parser (sdssplitargs) reads
// escapes inside them, so a value with a quote, backslash or line break is refused rather than
// escaped: none of the values here (paths, addresses) has a reason to hold one.
Result<std::string> quoted(const std::string& field, const std::string& value) {
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\0') {
      return fail(ErrorCode::InvalidArgument, field,
                  ": may not contain quotes, backslashes or line breaks");
    }
  }
  return "\"" + value + "\"";
}

std::string tail(const std::string& path, size_t bytes) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

}  // namespace

Result<std::string> renderServerConfig(const ServerConfig& config, StartRole role,
                                       const std::optional<net::Endpoint>& master) {
  if (config.dir.empty()) {
    return fail(ErrorCode::InvalidArgument, "dir: required");
  }
  if (config.bind.empty()) {
    return fail(ErrorCode::InvalidArgument, "bind: required");
  }
  if (config.port == 0) {
    return fail(ErrorCode::InvalidArgument, "port: must be 1-65535");
  }
  if (config.min_replicas_to_write < 0 || config.min_replicas_to_write >= kFencedMinReplicas) {
    return fail(ErrorCode::InvalidArgument, "min_replicas_to_write: must be 0-",
                std::to_string(kFencedMinReplicas - 1));
  }
  // 0 would switch the replica check off altogether, and with it fence().
  if (config.min_replicas_max_lag_s < 1) {
    return fail(ErrorCode::InvalidArgument, "min_replicas_max_lag: must be at least 1s");
  }
  if (role == StartRole::Replica && (!master || master->host.empty() || master->port == 0)) {
    return fail(ErrorCode::InvalidArgument, "a replica needs its master's address");
  }
  auto dir = quoted("dir", config.dir);
  auto bind = quoted("bind", config.bind);
  if (!dir || !bind) {
    return fail(!dir ? dir.error() : bind.error());
  }
  std::ostringstream out;
  out << "# Written by rampart before every start: edits here are lost.\n"
      << "port " << config.port << "\n"
      << "bind " << *bind
      << "\n"
      // No AUTH yet: the member serves whoever reaches its bind address (the group's network).
      << "protected-mode no\n"
      << "dir " << *dir << "\n"
      << "daemonize no\n"
      << "logfile \"\"\n"  // stdout, which the driver sends to redis.log
      // Durability: the AOF, fsynced once a second; no RDB snapshots besides replication's.
      << "appendonly yes\n"
      << "appendfsync everysec\n"
      << "save \"\"\n"
      << "replica-read-only yes\n"
      // A replica that (re)joins is sent the data set at once: Redis's default waits 5 s for
      // more replicas to share one diskless transfer, and a new master refuses writes
      // (min-replicas-to-write) until its first replica is in.
      << "repl-diskless-sync-delay 0\n"
      // SIGTERM stops at once (after the AOF's last fsync): Redis 7 would otherwise wait up to
      // 10 s for lagging replicas. A member stops its server only once it no longer leads (it
      // resigned: writes refused, the replicas raced with their final offsets), so that wait
      // protects nothing and holds up the stop.
      << "shutdown-timeout 0\n";
  if (!config.announce_ip.empty()) {
    auto announce = quoted("announce_ip", config.announce_ip);
    if (!announce) {
      return fail(announce.error());
    }
    out << "replica-announce-ip " << *announce << "\n";
  }
  // A fenced start refuses writes from the first command on (see server.h).
  int min_replicas = role == StartRole::Fenced ? kFencedMinReplicas : config.min_replicas_to_write;
  out << "min-replicas-to-write " << min_replicas << "\n"
      << "min-replicas-max-lag " << config.min_replicas_max_lag_s << "\n";
  if (role == StartRole::Replica) {
    auto host = quoted("master host", master->host);
    if (!host) {
      return fail(host.error());
    }
    out << "replicaof " << *host << " " << master->port << "\n";
  }
  return out.str();
}

Server::Server(ServerConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(&clock) {}

Server::~Server() {
  if (pid_ > 0) {
    client_.reset();
    runtime::terminate(pid_, 5s);
  }
}

net::Endpoint Server::endpoint() const { return net::Endpoint{config_.bind, config_.port}; }

Duration Server::left(TimePoint deadline) const {
  return std::max<Duration>(deadline - clock_->now(), Duration::zero());
}

bool Server::running() {
  if (pid_ <= 0) {
    return false;
  }
  if (runtime::waitExit(pid_, Duration::zero())) {
    pid_ = -1;
    client_.reset();
    return false;
  }
  return true;
}

Result<void> Server::startAsMaster(Duration timeout) {
  return start(StartRole::Master, std::nullopt, timeout);
}

Result<void> Server::startAsReplicaOf(const net::Endpoint& master, Duration timeout) {
  return start(StartRole::Replica, master, timeout);
}

Result<void> Server::startFenced(Duration timeout) {
  return start(StartRole::Fenced, std::nullopt, timeout);
}

Result<void> Server::start(StartRole role, const std::optional<net::Endpoint>& master,
                           Duration timeout) {
  auto deadline = clock_->now() + timeout;
  if (running()) {
    return fail(ErrorCode::FailedPrecondition, "redis-server ", endpoint().hostPort(),
                " is already running (pid ", std::to_string(pid_), ")");
  }
  auto text = renderServerConfig(config_, role, master);
  if (!text) {
    return fail(text.error());
  }
  std::error_code ec;
  std::filesystem::create_directories(config_.dir, ec);
  if (ec) {
    return fail(ErrorCode::Internal, "creating ", config_.dir, ": ", ec.message());
  }
  ::chmod(config_.dir.c_str(), 0750);
  {
    // Written beside and renamed, so a crash never leaves a half-written redis.conf.
    std::string tmp = configFile() + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    out << *text;
    out.close();
    if (!out) {
      return fail(ErrorCode::Internal, "writing ", tmp);
    }
    std::filesystem::rename(tmp, configFile(), ec);
    if (ec) {
      return fail(ErrorCode::Internal, "writing ", configFile(), ": ", ec.message());
    }
  }
  runtime::SpawnOptions options;
  options.argv = {config_.redis_server, configFile()};
  options.log_file = logFile();
  options.die_with_parent = true;
  auto pid = runtime::spawn(options);
  if (!pid) {
    return fail(pid.error());
  }
  pid_ = *pid;
  client_.reset();
  for (;;) {
    if (!running()) {
      return fail(ErrorCode::Unavailable, "redis-server ", endpoint().hostPort(),
                  " exited while starting: ", tail(logFile(), 600));
    }
    auto remaining = left(deadline);
    if (isAlive(std::min<Duration>(remaining, 1s))) {
      // Another server on the port (ours then fails to bind and exits) must not pass for ours.
      auto ours = answersAs(pid_, std::max<Duration>(left(deadline), 100ms));
      if (ours && *ours) {
        return {};
      }
    }
    if (clock_->now() >= deadline) {
      runtime::terminate(pid_, 1s);
      pid_ = -1;
      client_.reset();
      return fail(ErrorCode::DeadlineExceeded, "redis-server ", endpoint().hostPort(),
                  " did not answer PING within ",
                  std::to_string(static_cast<int64_t>(toMillis(timeout))),
                  " ms: ", tail(logFile(), 600));
    }
    std::this_thread::sleep_for(std::min<Duration>(20ms, left(deadline)));
  }
}

Result<void> Server::stop(Duration timeout) {
  client_.reset();
  if (pid_ <= 0) {
    return {};
  }
  pid_t pid = pid_;
  pid_ = -1;
  // Redis refuses a SIGTERM while it writes its initial AOF ("Writing initial AOF, can't exit":
  // after every full resynchronisation of a replica) and does not try again by itself, so one
  // SIGTERM would leave it running until the SIGKILL below, `timeout` later. The rewrite takes
  // milliseconds for small data sets: the signal is repeated until Redis exits on its own.
  auto deadline = clock_->now() + timeout;
  for (;;) {
    if (::kill(pid, SIGTERM) != 0 && errno == ESRCH) {
      (void)runtime::waitExit(pid, Duration::zero());  // reap it if it is our child
      return {};
    }
    if (runtime::waitExit(pid, std::min<Duration>(kShutdownRetry, left(deadline)))) {
      return {};
    }
    if (clock_->now() >= deadline) {
      break;
    }
  }
  if (!runtime::terminate(pid, Duration::zero())) {
    return fail(ErrorCode::Internal, "redis-server pid ", std::to_string(pid),
                " did not exit after SIGKILL");
  }
  return {};
}

Result<Reply> Server::call(const std::vector<std::string>& argv, TimePoint deadline) {
  if (client_ && client_->broken()) {
    client_.reset();
  }
  if (!client_) {
    auto connected = Client::connect(endpoint(), left(deadline), *clock_);
    if (!connected) {
      return fail(connected.error());
    }
    client_.emplace(std::move(*connected));
  }
  auto reply = client_->command(argv, left(deadline));
  if (!reply) {
    client_.reset();
  }
  return reply;
}

Result<Reply> Server::command(const std::vector<std::string>& argv, Duration timeout) {
  return call(argv, clock_->now() + timeout);
}

Result<void> Server::expectOk(const std::vector<std::string>& argv, TimePoint deadline) {
  auto reply = call(argv, deadline);
  if (!reply) {
    return fail(reply.error());
  }
  if (reply->type != Reply::Type::Status) {
    return fail(ErrorCode::Unavailable, "redis ", endpoint().hostPort(), ": ", commandName(argv),
                ": ", reply->isError() ? reply->str : replyTypeName(reply->type));
  }
  return {};
}

Result<void> Server::promote(Duration timeout) {
  auto deadline = clock_->now() + timeout;
  // Detached first, writable second: between the two it is a master that still refuses writes
  // (if it was fenced), never a replica that accepts them.
  if (auto r = expectOk({"REPLICAOF", "NO", "ONE"}, deadline); !r) {
    return r;
  }
  return unfence(left(deadline));
}

Result<void> Server::follow(const net::Endpoint& master, Duration timeout) {
  return expectOk({"REPLICAOF", master.host, std::to_string(master.port)}, clock_->now() + timeout);
}

Result<void> Server::fence(Duration timeout) {
  return expectOk({"CONFIG", "SET", "min-replicas-to-write", std::to_string(kFencedMinReplicas)},
                  clock_->now() + timeout);
}

Result<void> Server::unfence(Duration timeout) {
  return expectOk(
      {"CONFIG", "SET", "min-replicas-to-write", std::to_string(config_.min_replicas_to_write)},
      clock_->now() + timeout);
}

Result<void> Server::pauseWrites(Duration hold, Duration timeout) {
  return expectOk({"CLIENT", "PAUSE", std::to_string(static_cast<int64_t>(toMillis(hold))), "WRITE"},
                  clock_->now() + timeout);
}

Result<void> Server::unpause(Duration timeout) {
  return expectOk({"CLIENT", "UNPAUSE"}, clock_->now() + timeout);
}

Result<Position> Server::position(Duration timeout) {
  auto reply = call({"ROLE"}, clock_->now() + timeout);
  if (!reply) {
    return fail(reply.error());
  }
  auto role = parseRole(*reply);
  if (!role) {
    return fail(ErrorCode::Internal, "redis ", endpoint().hostPort(),
                ": ROLE: ", role.error().message);
  }
  Position out;
  if (auto* m = std::get_if<MasterRole>(&*role)) {
    out.master = true;
    out.offset = m->offset;
  } else if (auto* r = std::get_if<ReplicaRole>(&*role)) {
    out.offset = r->offset;
    out.following = net::Endpoint{r->master_host, r->master_port};
    out.link_up = r->state == LinkState::Connected;
  } else {
    return fail(ErrorCode::FailedPrecondition, "redis ", endpoint().hostPort(),
                " is a Sentinel, not a data server");
  }
  return out;
}

Result<bool> Server::answersAs(pid_t pid, Duration timeout) {
  auto reply = call({"INFO", "server"}, clock_->now() + timeout);
  if (!reply) {
    return fail(reply.error());
  }
  if (reply->type != Reply::Type::String) {
    return false;
  }
  static constexpr std::string_view kField = "\nprocess_id:";
  auto at = reply->str.find(kField);
  if (at == std::string::npos) {
    return false;
  }
  auto value = reply->str.substr(at + kField.size());
  value = value.substr(0, value.find_first_of("\r\n"));
  return value == std::to_string(pid);
}

bool Server::isAlive(Duration timeout) {
  auto reply = call({"PING"}, clock_->now() + timeout);
  return reply && reply->type == Reply::Type::Status && reply->str == "PONG";
}

Result<int64_t> Server::waitForOffset(int64_t target, Duration timeout) {
  auto deadline = clock_->now() + timeout;
  std::optional<int64_t> seen;
  for (;;) {
    auto pos = position(std::max<Duration>(left(deadline), 1ms));
    if (pos && pos->offset) {
      seen = pos->offset;
      if (*seen >= target) {
        return *seen;
      }
    }
    if (clock_->now() >= deadline) {
      return fail(ErrorCode::DeadlineExceeded, "redis ", endpoint().hostPort(),
                  ": did not reach offset ", std::to_string(target), " within ",
                  std::to_string(static_cast<int64_t>(toMillis(timeout))),
                  " ms (last seen: ", seen ? std::to_string(*seen) : std::string("none"),
                  pos ? std::string() : "; " + pos.error().message, ")");
    }
    std::this_thread::sleep_for(std::min<Duration>(10ms, left(deadline)));
  }
}

}  // namespace rampart::redis

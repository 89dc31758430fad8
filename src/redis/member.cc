#include "redis/member.h"

// g++ 12 reports asio's coroutine frames as mismatched new/delete: a false positive, GCC PR
// 109224 and asio issue 1391 (as in failover/engine.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <cstdio>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "net/http/client.h"
#include "pg/rest_auth.h"
#include "redis/operator_rest.h"
#include "redis/redis_database.h"
#include "redis/sentinel_server.h"
#include "store/etcd_store.h"

namespace rampart::redis {
namespace asio = boost::asio;

std::optional<SentinelSnapshot> sentinelView(
    const std::string& master_name, const std::string& leader,
    const std::map<std::string, failover::MemberRecord>& members,
    const std::optional<SentinelSnapshot>& previous,
    const std::vector<SentinelSnapshot::Sentinel>& others) {
  auto it = members.find(leader);
  if (leader.empty() || it == members.end() || it->second.role != "primary") {
    if (!previous) {
      return previous;
    }
    auto kept = *previous;
    kept.sentinels = others;
    return kept;
  }
  SentinelSnapshot s;
  s.master_name = master_name;
  s.master = SentinelAddress{it->second.address.host, it->second.address.port};
  s.quorum = 1;
  s.down_after_ms = 1000;
  s.sentinels = others;
  if (previous) {
    s.config_epoch = previous->config_epoch;
    bool moved = previous->master.ip != s.master.ip || previous->master.port != s.master.port;
    s.config_epoch += moved ? 1 : 0;  // a Sentinel's epoch counts failovers
  }
  for (const auto& [name, m] : members) {
    if (name == leader || m.role != "replica") {
      continue;
    }
    SentinelSnapshot::Replica r;
    r.address = SentinelAddress{m.address.host, m.address.port};
    r.offset = static_cast<int64_t>(m.position);
    s.replicas.push_back(std::move(r));
  }
  return s;
}

std::string clusterJson(const std::string& cluster, const std::string& leader,
                        const std::map<std::string, failover::MemberRecord>& members) {
  nlohmann::json j{{"cluster", cluster}, {"leader", leader}, {"members", nlohmann::json::array()}};
  for (const auto& [name, m] : members) {
    j["members"].push_back({{"name", name},
                            {"host", m.address.host},
                            {"port", m.address.port},
                            {"role", m.role},
                            {"position", m.position}});
  }
  return j.dump();
}

std::string formatGroup(const std::string& leader,
                        const std::map<std::string, failover::MemberRecord>& members) {
  std::string out = "MEMBER  ADDRESS                ROLE      OFFSET\n";
  for (const auto& [name, m] : members) {
    char line[160];
    std::string address = m.address.host + ":" + std::to_string(m.address.port);
    std::snprintf(line, sizeof line, "%-7s %-22s %-9s %llu%s\n", name.c_str(), address.c_str(),
                  m.role.c_str(), static_cast<unsigned long long>(m.position),
                  name == leader ? "  (leader)" : "");
    out += line;
  }
  if (members.empty()) {
    out += "(no member has published its status)\n";
  }
  return out;
}

std::vector<SentinelSnapshot::Sentinel> otherSentinels(const std::string& prefix,
                                                       const std::string& me,
                                                       const std::vector<store::KeyValue>& kvs) {
  std::vector<SentinelSnapshot::Sentinel> out;
  const std::string sentinels_prefix = prefix + "/sentinels/";
  for (const auto& kv : kvs) {
    if (kv.key.rfind(sentinels_prefix, 0) != 0 || kv.key == sentinels_prefix + me) {
      continue;
    }
    auto ep = net::parseEndpoint(kv.value);
    if (!ep || ep->port == 0) {
      continue;
    }
    SentinelSnapshot::Sentinel other;
    other.address = SentinelAddress{ep->host, ep->port};
    // A stable id per member, as a Sentinel's run id is per process (40 characters).
    other.run_id = kv.key.substr(sentinels_prefix.size());
    other.run_id.resize(40, '0');
    out.push_back(std::move(other));
  }
  return out;
}

GroupKeys groupFromKeys(const std::string& prefix, const std::vector<store::KeyValue>& kvs) {
  GroupKeys out;
  const std::string members_prefix = prefix + "/members/";
  for (const auto& kv : kvs) {
    if (kv.key == prefix + "/leader") {
      out.leader = kv.value;
    } else if (kv.key.rfind(members_prefix, 0) == 0) {
      if (auto m = failover::decodeMember(kv.value)) {
        out.members[kv.key.substr(members_prefix.size())] = *m;
      }
    }
  }
  return out;
}

namespace {

// The failsafe's calls to the other members' REST APIs (failover/peers.h): POST /failsafe with
// the member credential's proof, over plain HTTP (the proof names one leader and one member, and
// the credential itself never travels: pg/rest_auth.h).
class RestPeers final : public failover::Peers {
 public:
  RestPeers(asio::any_io_executor executor, std::string me, std::string member_token)
      : http_(std::move(executor)), me_(std::move(me)), member_token_(std::move(member_token)) {}

  asio::awaitable<Result<void>> askVouch(const std::string& member, const std::string& api,
                                         TimePoint deadline) override {
    auto endpoint = net::parseEndpoint(api);
    if (!endpoint) {
      co_return fail(ErrorCode::InvalidArgument,
                     "REST address '" + api + "': " + endpoint.error().message);
    }
    auto request = pg::vouchRequest(member_token_, me_, member);
    auto answer = co_await http_.fetch(*endpoint, std::move(request), deadline);
    if (!answer) {
      co_return fail(answer.error());
    }
    if (answer->status != 200) {
      co_return fail(ErrorCode::Unavailable,
                     "refused (HTTP " + std::to_string(answer->status) + ")");
    }
    co_return ok();
  }

 private:
  net::http::Client http_;
  std::string me_;
  std::string member_token_;
};

// Where the other members reach this one's REST API: its listen address, or the Redis
// address's host when it listens on every interface.
std::string restAddress(const MemberConfig& c) {
  return net::advertisedEndpoint(c.rest, c.server.bind).toString();
}

// Everything one member holds, alive as long as the loop runs.
struct Member {
  Member(runtime::Daemon& d, MemberConfig c)
      : daemon(d),
        config(std::move(c)),
        store(d.io().get_executor(), config.etcd),
        db(config.server, config.unresponsive_timeout),
        peers(d.io().get_executor(), config.name, config.member_token),
        engine(store, SteadyClock::instance(), db, engineConfig(config, peers)) {}

  static failover::EngineConfig engineConfig(const MemberConfig& c, RestPeers& peers) {
    failover::EngineConfig e;
    e.prefix = c.keyPrefix();
    e.name = c.name;
    e.address = failover::Address{c.server.bind, c.server.port};
    e.api = restAddress(c);
    e.peers = c.failsafeEnabled() ? &peers : nullptr;
    e.group_size = c.ha.durability.members;
    e.leader_timeout = c.ha.leader_timeout;
    e.heartbeat_interval = c.ha.heartbeat_interval;
    e.fence_margin = c.ha.fence_margin;
    auto rule = c.ha.durability;
    e.candidate_rule = [rule](const failover::CandidateFacts& f) {
      return decideRedisCandidate(f, rule);
    };
    return e;
  }

  runtime::Daemon& daemon;
  MemberConfig config;
  store::EtcdStore store;
  RedisDatabase db;
  RestPeers peers;
  failover::Engine engine;
  std::unique_ptr<SentinelServer> sentinel;
  std::optional<SentinelSnapshot> sentinel_view;
  std::vector<SentinelSnapshot::Sentinel> other_sentinels;
  bool stopping = false;
  std::string last_decision;
};

// The tick interval while a switchover or failover request is pending.
constexpr Duration kSwitchoverLoop = std::chrono::milliseconds(10);

asio::awaitable<void> sleepFor(Duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<void> tickLoop(std::shared_ptr<Member> m) {
  auto log = log::get("redis");
  while (!m->stopping) {
    auto decision = co_await m->engine.tick();
    // Logged on change only (Sentinel and keepalived log transitions, not every loop).
    std::string line = std::string(failover::toString(decision.action)) + ": " + decision.reason;
    if (line != m->last_decision) {
      log->info("{}", line);
      m->last_decision = line;
    }
    if (m->sentinel) {
      auto view = sentinelView(m->config.master_name, m->engine.leaderName(), m->engine.members(),
                               m->sentinel_view, m->other_sentinels);
      if (view) {
        // Every tick, for the replicas' offsets; +switch-master goes out only when the master's
        // address changed (sentinel_server.h).
        m->sentinel->update(*view);
      }
      m->sentinel_view = view;
    }
    m->daemon.setReady(m->engine.leading() || m->engine.server().replicating);
    // While a switchover is pending the target must notice its handover at once: the old
    // leader holds its clients' writes until the target is writable (failover/switchover.h).
    co_await sleepFor(m->engine.switchoverPending()
                          ? std::min<Duration>(m->config.ha.loop_interval, kSwitchoverLoop)
                          : m->config.ha.loop_interval);
  }
}

// Publishes this member's Sentinel port under <prefix>/sentinels/<name> on a lease of its own
// (gone 3 s after the manager) and reads the others', every second.
asio::awaitable<void> sentinelRegistryLoop(std::shared_ptr<Member> m) {
  const std::string prefix = m->config.keyPrefix() + "/sentinels/";
  const std::string mine =
      m->config.sentinel_listen.host + ":" + std::to_string(m->sentinel->endpoint().port);
  store::LeaseId lease = 0;
  while (!m->stopping) {
    if (lease != 0) {
      auto renewed = co_await m->store.leaseKeepAliveOnce(lease);
      if (!renewed) {
        lease = 0;
      }
    }
    if (lease == 0) {
      auto granted = co_await m->store.leaseGrant(std::chrono::seconds(3));
      if (granted) {
        store::PutRequest put{prefix + m->config.name, mine, granted->id};
        if (co_await m->store.put(std::move(put))) {
          lease = granted->id;
        }
      }
    }
    auto request = store::RangeRequest::prefix(prefix);
    if (auto listed = co_await m->store.range(std::move(request))) {
      m->other_sentinels = otherSentinels(m->config.keyPrefix(), m->config.name, listed->kvs);
    }
    co_await sleepFor(std::chrono::seconds(1));
  }
}

// Runs `step` every heartbeat interval, counted from each start (not from each end): the
// failsafe's probe then reaches etcd every interval however slow etcd answers, which a vouch's
// "silent for 2 intervals" rule relies on (failover/vouch.h).
template <typename Step>
asio::awaitable<void> everyHeartbeat(std::shared_ptr<Member> m, Step step) {
  while (!m->stopping) {
    auto started = std::chrono::steady_clock::now();
    co_await step();
    auto next = started + m->config.ha.heartbeat_interval;
    auto now = std::chrono::steady_clock::now();
    if (next > now) {
      co_await sleepFor(next - now);
    }
  }
}

asio::awaitable<void> heartbeatLoop(std::shared_ptr<Member> m) {
  co_await everyHeartbeat(m, [m] { return m->engine.heartbeat(); });
}

// Beside the heartbeat, not after it: a heartbeat stuck in its etcd timeout must not delay the
// round that keeps the leader serving (failover/engine.h).
asio::awaitable<void> failsafeLoop(std::shared_ptr<Member> m) {
  co_await everyHeartbeat(m, [m] { return m->engine.failsafe(); });
}

asio::awaitable<void> deadlineLoop(std::shared_ptr<Member> m) {
  while (!m->stopping) {
    m->engine.checkDeadline();
    co_await sleepFor(std::chrono::milliseconds(10));
  }
}

asio::awaitable<int> memberMain(std::shared_ptr<Member> m) {
  auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(ex, heartbeatLoop(m), asio::detached);
  asio::co_spawn(ex, deadlineLoop(m), asio::detached);
  if (m->config.failsafeEnabled()) {
    asio::co_spawn(ex, failsafeLoop(m), asio::detached);
  }
  if (m->sentinel) {
    asio::co_spawn(ex, sentinelRegistryLoop(m), asio::detached);
  }
  co_await tickLoop(m);
  co_return 0;
}

asio::awaitable<void> shutdown(std::shared_ptr<Member> m) {
  m->stopping = true;
  // A leader refuses writes and frees its key, so a replica takes over at once; any member
  // then stops its server (the engine is not ticked again).
  co_await m->engine.resign();
  m->db.fence();
  (void)m->db.stop();
}

// Prometheus metrics on the admin server's /metrics, refreshed at each scrape.
void addMetrics(runtime::Daemon& daemon, const std::shared_ptr<Member>& m) {
  auto labels = prometheus::Labels{{"cluster", m->config.cluster}, {"member", m->config.name}};
  auto& registry = daemon.metrics();
  auto* is_leader = &prometheus::BuildGauge()
                         .Name("rampart_redis_is_leader")
                         .Help("1 while this member is the writable leader")
                         .Register(registry)
                         .Add(labels);
  auto* position = &prometheus::BuildGauge()
                        .Name("rampart_redis_replication_offset")
                        .Help("This member's replication offset, as last observed")
                        .Register(registry)
                        .Add(labels);
  auto* fences = &prometheus::BuildCounter()
                      .Name("rampart_redis_fences_total")
                      .Help("Times this member made its server refuse writes to keep one master")
                      .Register(registry)
                      .Add(labels);
  auto counted = std::make_shared<int>(0);
  daemon.onScrape([m, is_leader, position, fences, counted] {
    is_leader->Set(m->engine.writable() ? 1 : 0);
    position->Set(static_cast<double>(m->engine.server().position));
    fences->Increment(m->engine.fences() - *counted);
    *counted = m->engine.fences();
  });
}

void addRoutes(net::http::Server& http, const std::shared_ptr<Member>& m) {
  namespace h = net::http;
  auto status = [m](bool ok) {
    return h::Response::json(ok ? 200 : 503,
                             nlohmann::json{{"name", m->config.name},
                                            {"leader", m->engine.leaderName()},
                                            {"role", m->engine.writable()         ? "primary"
                                                     : m->engine.server().replica ? "replica"
                                                                                  : "stopped"},
                                            {"position", m->engine.server().position}}
                                 .dump());
  };
  http.route("/primary", [m, status](const h::Request&) { return status(m->engine.writable()); });
  http.route("/replica", [m, status](const h::Request&) {
    const auto& s = m->engine.server();
    return status(!m->engine.leading() && s.running && s.replica && s.replicating);
  });
  http.route("/health",
             [m, status](const h::Request&) { return status(m->engine.server().running); });
  http.route("/cluster", [m](const h::Request&) {
    return h::Response::json(
        200, clusterJson(m->config.cluster, m->engine.leaderName(), m->engine.members()));
  });
  http.route("/history",
             [m](const h::Request&) { return h::Response::json(200, m->engine.historyJson()); });
  // Not an operator call: the member credential's proof, judged by the engine (vouch.h). Without
  // a member credential no proof verifies, so every vouch is refused (401).
  http.route("/failsafe", [m](const h::Request& request) {
    if (!m->config.failsafeEnabled()) {
      // It probes nothing, so it could not tell whether it reaches etcd: no vouch.
      return h::Response::json(409, R"({"accepted":false,"reason":"the failsafe is off here"})");
    }
    return pg::answerVouch(request, [m](const std::string& leader, const std::string& proof,
                                        const std::string& /*peer_name*/) {
      failover::VouchFacts facts;
      facts.claimed_leader = leader;
      facts.proof_valid =
          pg::vouchProofValid(m->config.member_token, leader, m->config.name, proof);
      return m->engine.vouch(facts);
    });
  });
  addOperatorRoutes(http, m->config.rest_token, m->config.keyPrefix(), m->store, [m] {
    OperatorView v;
    v.leader = m->engine.leaderName();
    v.leader_alive = m->engine.leaderAlive();
    for (const auto& [name, member] : m->engine.members()) {
      if (member.role == "replica") {
        v.replicas.push_back(name);
      }
    }
    return v;
  });
}

}  // namespace

int runMember(runtime::Daemon& daemon, MemberConfig config) {
  auto log = log::get("redis");
  auto m = std::make_shared<Member>(daemon, std::move(config));
  auto rest = daemon.startAdmin(m->config.rest);
  if (!rest) {
    log->error("REST API on {}: {}", m->config.rest.toString(), rest.error().message);
    return 1;
  }
  addRoutes(daemon.admin(), m);
  addMetrics(daemon, m);
  if (m->config.sentinel) {
    SentinelServerOptions options;
    options.listen = m->config.sentinel_listen;
    // No master known yet: get-master-addr-by-name answers nil (no name matches), as Sentinel
    // answers for a master it does not monitor, rather than an address no one listens on.
    auto sentinel = SentinelServer::start(options, SentinelSnapshot{});
    if (!sentinel) {
      log->error("Sentinel port {}: {}", m->config.sentinel_listen.toString(),
                 sentinel.error().message);
      return 1;
    }
    m->sentinel = std::move(*sentinel);
  }
  log->info("member {} of {}: redis {}:{}, REST {}", m->config.name, m->config.cluster,
            m->config.server.bind, m->config.server.port, rest->toString());
  if (m->config.rest_token.empty()) {
    log->warn(
        "no operator token (rest.token_file): switchover, failover, pause and resume "
        "calls are refused");
  }
  if (m->config.failsafeEnabled()) {
    log->info(
        "failsafe on: through an etcd outage the master keeps serving while every other "
        "member vouches for it");
    if (net::isLoopbackHost(m->config.rest.host) && !net::isLoopbackHost(m->config.server.bind)) {
      log->warn(
          "the REST API listens on {} while redis listens on {}: other machines' members "
          "cannot reach it to vouch (failsafe); set rest.listen to this member's address",
          m->config.rest.host, m->config.server.bind);
    }
  } else if (m->config.ha.failsafe) {
    log->warn(
        "failsafe off: no member credential (rest.member_token_file); the master refuses "
        "writes when etcd does not answer for {} ms",
        toMillis(m->config.ha.leader_timeout - m->config.ha.fence_margin));
  }
  // Not capturing coroutines (STYLE.md): plain lambdas that return the coroutines' awaitables.
  daemon.onShutdown([m] { return shutdown(m); });
  return daemon.run([m] { return memberMain(m); });
}

}  // namespace rampart::redis

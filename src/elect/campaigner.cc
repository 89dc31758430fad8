#include "elect/campaigner.h"

#include <cstdio>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/backoff.h"
#include "base/duration.h"
#include "base/log.h"
#include "store/election.h"
#include "store/etcd_config.h"
#include "store/etcd_store.h"
#include "store/lease_keeper.h"

namespace rampart::elect {
namespace asio = boost::asio;

Result<CampaignerConfig> parseCampaignerConfig(const config::Section& root) {
  CampaignerConfig out;
  if (auto r = root.allowOnly({"etcd", "election", "admin", "log"}); !r) {
    return fail(r.error());
  }
  auto etcd = root.section("etcd");
  auto election = root.section("election");
  auto log_section = root.section("log");
  for (auto* s : {&etcd, &election, &log_section}) {
    if (!*s) {
      return fail(s->error());
    }
  }
  store::EtcdSection defaults;
  defaults.options.request_timeout = out.request_timeout;
  auto parsed = store::parseEtcdSection(*etcd, defaults, false);
  if (!parsed) {
    return fail(parsed.error());
  }
  out.endpoints = parsed->options.endpoints;
  out.request_timeout = parsed->options.request_timeout;
  out.tls = parsed->options.tls;
  out.user = parsed->options.user;
  out.password_file = parsed->options.password_file;

  if (auto r = election->allowOnly({"key", "name", "ttl"}); !r) {
    return fail(r.error());
  }
  auto key = election->string("key", out.key);
  auto name = election->string("name", "");
  auto ttl = election->duration("ttl", out.ttl);
  if (!key || !name || !ttl) {
    return fail(!key ? key.error() : !name ? name.error() : ttl.error());
  }
  if (*ttl < std::chrono::seconds(1) || *ttl % std::chrono::seconds(1) != Duration::zero()) {
    return fail(ErrorCode::InvalidArgument, election->whereIs("ttl"),
                ": election.ttl: etcd leases are whole seconds, at least 1s; got ",
                formatDuration(*ttl));
  }
  out.key = *key;
  out.name = *name;
  out.ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);

  auto admin = config::adminListen(root, out.admin);
  if (!admin) {
    return fail(admin.error());
  }
  out.admin = *admin;
  auto admin_tls = config::adminTls(root);
  if (!admin_tls) {
    return fail(admin_tls.error());
  }
  out.admin_tls = *admin_tls;

  if (auto r = log_section->allowOnly({"level"}); !r) {
    return fail(r.error());
  }
  auto level = log_section->string("level", "");
  if (!level) {
    return fail(level.error());
  }
  if (!level->empty()) {
    if (auto parsed = log::parseLevel(*level); !parsed) {
      return fail(ErrorCode::InvalidArgument, log_section->whereIs("level"),
                  ": log.level: ", parsed.error().message);
    }
  }
  out.log_level = *level;
  return out;
}

Result<void> validate(const CampaignerConfig& config) {
  if (config.endpoints.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "no etcd endpoints: give --endpoints or etcd.endpoints in the config file");
  }
  if (config.name.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "no candidate name: give --name or election.name in the config file");
  }
  if (config.key.empty() || config.key.front() != '/') {
    return fail(ErrorCode::InvalidArgument, "election key '", config.key, "' must start with '/'");
  }
  return ok();
}

namespace {

void emit(const char* event, const std::string& name, const std::string& detail = {}) {
  std::printf("{\"event\":\"%s\",\"name\":\"%s\",\"mono_ns\":%lld%s%s}\n", event, name.c_str(),
              static_cast<long long>(monotonicNanos()), detail.empty() ? "" : ",", detail.c_str());
  std::fflush(stdout);
}

// State shared by the campaign loop and the shutdown hook.
struct Campaign {
  CampaignerConfig config;
  std::unique_ptr<store::EtcdStore> store;
  std::unique_ptr<store::LeaseKeeper> keeper;
  std::unique_ptr<store::Election> election;
  std::optional<store::Leadership> leadership;
  store::KeepAlivePtr lease;
  std::unique_ptr<asio::steady_timer> wake;  // cancelled on lease loss or shutdown
  bool stopping = false;
  prometheus::Gauge* is_leader = nullptr;
  prometheus::Counter* elected_total = nullptr;
  prometheus::Counter* lost_total = nullptr;
};

asio::awaitable<void> sleepFor(asio::steady_timer& timer, Duration d) {
  timer.expires_after(d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<int> campaignLoop(std::shared_ptr<Campaign> c, runtime::Daemon* daemon) {
  auto logger = log::get("elect");
  Backoff backoff(std::chrono::milliseconds(50), std::chrono::seconds(2));
  while (!c->stopping) {
    if (!c->lease || c->lease->lost()) {
      auto granted = co_await c->keeper->grantAndKeep(c->config.ttl);
      if (!granted) {
        logger->warn("lease grant failed error=\"{}\"", granted.error().toString());
        co_await sleepFor(*c->wake, backoff.next());
        continue;
      }
      c->lease = *granted;
      auto wake = c->wake.get();
      c->lease->onLost([wake](const std::string&) { wake->cancel(); });
    }
    auto won =
        co_await c->election->campaign(c->config.name, c->lease->id(), std::chrono::seconds(5));
    if (c->stopping) {
      break;
    }
    if (!won) {
      if (won.error().code != ErrorCode::DeadlineExceeded) {
        logger->warn("campaign failed error=\"{}\"", won.error().toString());
        co_await sleepFor(*c->wake, backoff.next());
      }
      continue;
    }
    backoff.reset();
    c->leadership = *won;
    c->is_leader->Set(1);
    c->elected_total->Increment();
    daemon->setReady(true);
    logger->info("elected key={} name={} lease={}", c->config.key, c->config.name, c->lease->id());
    emit("elected", c->config.name, "\"revision\":" + std::to_string(won->create_revision));
    // Hold until the lease is lost or we are asked to stop.
    while (!c->stopping && !c->lease->lost()) {
      co_await sleepFor(*c->wake, std::chrono::seconds(1));
    }
    c->is_leader->Set(0);
    daemon->setReady(false);
    if (c->lease->lost() && !c->stopping) {
      c->lost_total->Increment();
      c->leadership.reset();
      logger->warn("leadership lost key={} reason=\"{}\"", c->config.key, c->lease->lostReason());
      emit("lost", c->config.name);
    }
  }
  co_return 0;
}

}  // namespace

int runCampaigner(runtime::Daemon& daemon, CampaignerConfig config) {
  auto ex = daemon.io().get_executor();
  auto c = std::make_shared<Campaign>();
  c->config = config;
  store::EtcdOptions etcd{config.endpoints, config.request_timeout};
  etcd.tls = config.tls;
  etcd.user = config.user;
  etcd.password_file = config.password_file;
  c->store = std::make_unique<store::EtcdStore>(ex, std::move(etcd));
  c->keeper = std::make_unique<store::LeaseKeeper>(*c->store, ex);
  c->election = std::make_unique<store::Election>(*c->store, config.key);
  c->wake = std::make_unique<asio::steady_timer>(ex);
  auto& registry = daemon.metrics();
  c->is_leader = &prometheus::BuildGauge()
                      .Name("rampart_election_is_leader")
                      .Help("1 while this candidate holds the election key")
                      .Register(registry)
                      .Add({{"key", config.key}});
  auto& transitions = prometheus::BuildCounter()
                          .Name("rampart_election_transitions_total")
                          .Help("Leadership gained (elected) and lost (lost) by this candidate")
                          .Register(registry);
  c->elected_total = &transitions.Add({{"key", config.key}, {"transition", "elected"}});
  c->lost_total = &transitions.Add({{"key", config.key}, {"transition", "lost"}});

  if (auto admin = daemon.startAdmin(config.admin, config.admin_tls); !admin) {
    std::fprintf(stderr, "rampart elect: %s\n", admin.error().message.c_str());
    return 2;
  }
  daemon.onShutdown([c]() -> asio::awaitable<void> {
    c->stopping = true;
    c->wake->cancel();
    if (c->leadership) {
      auto resigned = co_await c->election->resign(*c->leadership);
      emit("resigned", c->config.name);
      if (!resigned) {
        log::get("elect")->warn("resign failed error=\"{}\"", resigned.error().toString());
      }
    }
    if (c->lease) {
      c->lease->stop();
      auto revoked = co_await c->store->leaseRevoke(c->lease->id());
      (void)revoked;
    }
  });
  emit("started", config.name, "\"pid\":" + std::to_string(::getpid()));
  auto* d = &daemon;
  return daemon.run([c, d]() { return campaignLoop(c, d); });
}

}  // namespace rampart::elect

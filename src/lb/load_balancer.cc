#include "lb/load_balancer.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "health/probe.h"
#include "health/threshold.h"
#include "lb/etcd_source.h"
#include "lb/listen_check.h"
#include "lb/nft.h"
#include "runtime/socket_activation.h"

namespace rampart::lb {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct LoadBalancer::Backend {
  BackendConfig config;
  std::string id;
  tcp::endpoint address;
  health::HealthState health{1, 2};
  std::shared_ptr<BackendCounters> counters = std::make_shared<BackendCounters>();
  health::ProbeResult last_probe;
  bool promoting = false;  // the last check answered the promoting status
  bool draining = false;   // the last check answered the draining status
  bool checking = false;   // a check loop runs for it
  // The check loop's timer while it waits for the next check: cancelled to check at once.
  std::weak_ptr<asio::steady_timer> check_timer;
  // Metrics (owned by the registry's families).
  prometheus::Gauge* up = nullptr;
  prometheus::Gauge* active = nullptr;
  prometheus::Counter* connections = nullptr;
  prometheus::Counter* connect_failures = nullptr;
  prometheus::Counter* bytes_to_backend = nullptr;
  prometheus::Counter* bytes_to_client = nullptr;
  prometheus::Counter* ejections = nullptr;
  prometheus::Histogram* check_seconds = nullptr;
  prometheus::Counter* checks_inconclusive = nullptr;
  bool inconclusive = false;  // the last check could not be made (logged once per episode)
  uint64_t exported_connections = 0;
  uint64_t exported_failures = 0;
  uint64_t exported_to_backend = 0;
  uint64_t exported_to_client = 0;
};

// Families are registered per balancer in its own registry (not in a function-level static,
// which would bind every balancer to the first registry it saw).
struct LoadBalancer::Metrics {
  explicit Metrics(metrics::Registry& r)
      : up(prometheus::BuildGauge()
               .Name("rampart_lb_backend_up")
               .Help("1 while the backend may take new connections (UP or UNKNOWN), 0 while DOWN")
               .Register(r)),
        active(prometheus::BuildGauge()
                   .Name("rampart_lb_backend_active_connections")
                   .Help("Connections currently relayed to the backend")
                   .Register(r)),
        connections(prometheus::BuildCounter()
                        .Name("rampart_lb_backend_connections_total")
                        .Help("Connections relayed to the backend")
                        .Register(r)),
        connect_failures(prometheus::BuildCounter()
                             .Name("rampart_lb_backend_connect_failures_total")
                             .Help("Client connects to the backend that failed and were retried "
                                   "elsewhere")
                             .Register(r)),
        bytes(prometheus::BuildCounter()
                  .Name("rampart_lb_backend_bytes_total")
                  .Help("Bytes relayed, by direction")
                  .Register(r)),
        ejections(prometheus::BuildCounter()
                      .Name("rampart_lb_backend_ejections_total")
                      .Help("Transitions of the backend to DOWN")
                      .Register(r)),
        check_seconds(prometheus::BuildHistogram()
                          .Name("rampart_lb_backend_check_duration_seconds")
                          .Help("Active health check latency")
                          .Register(r)),
        checks_inconclusive(prometheus::BuildCounter()
                                .Name("rampart_lb_backend_checks_inconclusive_total")
                                .Help("Health checks this process could not make for lack of its "
                                      "own resources (descriptors, memory); state unchanged")
                                .Register(r)),
        accept_errors(prometheus::BuildCounter()
                          .Name("rampart_lb_accept_errors_total")
                          .Help("accept() failures for lack of descriptors or memory (the "
                                "listener backs off)")
                          .Register(r)
                          .Add({})),
        local_connect_errors(prometheus::BuildCounter()
                                 .Name("rampart_lb_local_connect_errors_total")
                                 .Help("Backend connects this process could not make for lack of "
                                       "its own resources (the backend is not blamed)")
                                 .Register(r)
                                 .Add({})) {}

  prometheus::Family<prometheus::Gauge>& up;
  prometheus::Family<prometheus::Gauge>& active;
  prometheus::Family<prometheus::Counter>& connections;
  prometheus::Family<prometheus::Counter>& connect_failures;
  prometheus::Family<prometheus::Counter>& bytes;
  prometheus::Family<prometheus::Counter>& ejections;
  prometheus::Family<prometheus::Histogram>& check_seconds;
  prometheus::Family<prometheus::Counter>& checks_inconclusive;
  prometheus::Counter& accept_errors;
  prometheus::Counter& local_connect_errors;
};

struct LoadBalancer::Server {
  VirtualServerConfig config;
  std::vector<std::shared_ptr<Backend>> backends;
  std::vector<int> listen_fds;
  std::shared_ptr<std::atomic<uint64_t>> failed_connections =
      std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<uint64_t>> retried_connections =
      std::make_shared<std::atomic<uint64_t>>(0);
  uint64_t generation = 0;

  bool noneUp() const {
    return std::none_of(backends.begin(), backends.end(),
                        [](const auto& b) { return b->health.usable(); });
  }
  // An outage began: the sleeping check loops switch to the outage interval now, not after
  // their current (longer) wait.
  void checkAllNow() {
    for (auto& b : backends) {
      if (auto timer = b->check_timer.lock()) {
        timer->cancel();
      }
    }
  }
};

namespace {

Result<tcp::endpoint> resolve(const net::Endpoint& e) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(e.host, ec);
  if (!ec) {
    return tcp::endpoint(address, e.port);
  }
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(e.host, std::to_string(e.port), ec);
  if (ec || results.empty()) {
    return fail(ErrorCode::InvalidArgument, "cannot resolve ", e.toString(), ": ", ec.message());
  }
  return results.begin()->endpoint();
}

// A listening socket with SO_REUSEPORT, so every worker can own one on the same address; or a
// descriptor of the socket inherited for that address (socket activation), which the workers
// then share.
Result<int> openListener(const tcp::endpoint& at) {
  if (auto inherited = runtime::inheritedListener(at.data(), static_cast<socklen_t>(at.size()))) {
    return *inherited;
  }
  int family = at.address().is_v6() ? AF_INET6 : AF_INET;
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(ErrorCode::Internal, "socket: ", std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, at.data(), static_cast<socklen_t>(at.size())) != 0 || ::listen(fd, 4096) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    std::ostringstream where;
    where << at;
    return fail(ErrorCode::Unavailable, "listen on ", where.str(), ": ", why);
  }
  return fd;
}

}  // namespace

LoadBalancer::LoadBalancer(asio::io_context& control, metrics::Registry& registry)
    : control_(control), registry_(registry), metrics_(std::make_unique<Metrics>(registry)) {}

LoadBalancer::~LoadBalancer() { stop(); }

Result<void> LoadBalancer::programKernel() {
  std::vector<KernelVirtualServer> servers;
  std::set<std::string> programmed;
  for (const auto& [name, server] : servers_) {
    KernelVirtualServer vs{server->config.listen, server->config.policy, {}};
    for (const auto& b : server->backends) {
      if (b->health.usable() && b->config.weight > 0) {
        vs.backends.push_back(KernelBackend{b->config.address, b->config.weight});
        programmed.insert(vs.listen.toString() + "|" + b->config.address.toString());
      }
    }
    servers.push_back(std::move(vs));
  }
  if (auto r = applyNftRuleset(renderNftRuleset(servers)); !r) {
    return r;
  }
  // Flows to a backend that left the table would otherwise stay pinned to it by conntrack.
  for (const auto& gone : programmed_) {
    if (!programmed.count(gone)) {
      auto bar = gone.find('|');
      auto vip = net::parseEndpoint(gone.substr(0, bar));
      auto backend = net::parseEndpoint(gone.substr(bar + 1));
      if (vip && backend) {
        flushConntrack(*vip, *backend);
      }
    }
  }
  programmed_ = std::move(programmed);
  return ok();
}

void LoadBalancer::stop() {
  if (mode_ == Mode::Kernel && !servers_.empty()) {
    if (auto r = deleteNftTable(); !r) {
      log::get("lb")->warn("kernel mode: {}", r.error().message);
    }
    programmed_.clear();
  }
  ++generation_;
  ++source_generation_;
  for (auto& w : workers_) {
    w->stop();
  }
  workers_.clear();
  servers_.clear();
  vips_.clear();  // removes the VIPs this process added
}

Result<void> LoadBalancer::apply(const LbConfig& config) {
  if (auto r = applyMerged(config); !r) {
    return r;
  }
  base_ = config;
  startSources();
  return ok();
}

void LoadBalancer::startSources() {
  auto generation = ++source_generation_;
  for (const auto& vs : base_.virtual_servers) {
    if (!vs.backends_from) {
      continue;
    }
    auto* self = this;
    auto name = vs.name;
    auto on_change = [self, name, generation](std::vector<BackendConfig> backends) {
      if (self->source_generation_ != generation) {
        return;
      }
      log::get("lb")->info("backends from etcd vs={} count={}", name, backends.size());
      self->learnt_[name] = std::move(backends);
      if (auto r = self->applyMerged(self->base_); !r) {
        log::get("lb")->error("backends from etcd rejected vs={} error=\"{}\"", name,
                              r.error().message);
      }
    };
    auto wanted = [self, generation] { return self->source_generation_ == generation; };
    store::EtcdOptions etcd{vs.backends_from->endpoints, vs.backends_from->request_timeout};
    etcd.tls = vs.backends_from->tls;
    etcd.user = vs.backends_from->user;
    etcd.password_file = vs.backends_from->password_file;
    asio::co_spawn(control_,
                   followEtcdPrefix(control_.get_executor(), etcd, vs.backends_from->prefix,
                                    on_change, wanted),
                   asio::detached);
  }
}

Result<void> LoadBalancer::applyMerged(const LbConfig& base) {
  LbConfig merged = base;
  for (auto& vs : merged.virtual_servers) {
    if (vs.backends_from) {
      auto it = learnt_.find(vs.name);
      vs.backends = it == learnt_.end() ? std::vector<BackendConfig>{} : it->second;
    }
  }
  const LbConfig& config = merged;
  if (auto valid = validate(config); !valid) {
    return valid;
  }
  if (!servers_.empty() && config.mode != mode_) {
    return fail(ErrorCode::InvalidArgument, "mode cannot change on reload; restart instead");
  }
  const bool kernel = config.mode == Mode::Kernel;
  size_t worker_count = config.workers > 0 ? static_cast<size_t>(config.workers)
                                           : std::max(1u, std::thread::hardware_concurrency());
  if (!workers_.empty()) {
    worker_count = workers_.size();  // the number of workers is fixed at start
  }
  // Phase 0: VIPs first, so the listen sockets below can bind to them. VIPs no longer wanted
  // are released after the commit.
  std::map<std::string, vip::VipOwner> vips;
  for (const auto& vs : config.virtual_servers) {
    if (vs.vip_interface.empty()) {
      continue;
    }
    auto key = vs.listen.host + "@" + vs.vip_interface;
    if (auto held = vips_.find(key); held != vips_.end()) {
      vips.emplace(key, std::move(held->second));
      vips_.erase(held);
      continue;
    }
    auto claimed = vip::VipOwner::claim(vs.listen.host, vs.vip_interface);
    if (!claimed) {
      for (auto& [k, v] : vips) {
        vips_.emplace(k, std::move(v));  // give back what the running config holds
      }
      return fail(ErrorCode::Unavailable, "virtual server '", vs.name,
                  "': ", claimed.error().message);
    }
    vips.emplace(key, std::move(*claimed));
  }
  auto restore_vips = [&] {
    for (auto& [k, v] : vips) {
      vips_.emplace(k, std::move(v));
    }
  };
  // Phase 1: everything that can fail, without touching the running state.
  std::map<std::string, std::shared_ptr<Server>> next;
  std::vector<int> opened;
  auto undo = [&opened, &restore_vips] {
    for (int fd : opened) {
      ::close(fd);
    }
    restore_vips();
  };
  for (const auto& vs : config.virtual_servers) {
    auto server = std::make_shared<Server>();
    server->config = vs;
    auto listen = resolve(vs.listen);
    if (!listen) {
      undo();
      return fail(ErrorCode::InvalidArgument, "virtual server '", vs.name,
                  "': ", listen.error().message);
    }
    auto old = servers_.find(vs.name);
    if (kernel) {
      // nftables catches the packets; nothing listens in user space.
    } else if (old != servers_.end() && old->second->config.listen == vs.listen) {
      server->listen_fds = old->second->listen_fds;  // keep accepting on the same sockets
      server->failed_connections = old->second->failed_connections;
      server->retried_connections = old->second->retried_connections;
    } else {
      bool ours = std::any_of(servers_.begin(), servers_.end(), [&](const auto& named) {
        return named.second->config.listen == vs.listen;
      });
      // An inherited socket for this address is the one listening there: it is ours.
      bool inherited = false;
      if (auto probe = runtime::inheritedListener(listen->data(),
                                                  static_cast<socklen_t>(listen->size()))) {
        ::close(*probe);
        inherited = true;
      }
      if (auto free = ours || inherited ? ok() : checkNobodyListens(*listen); !free) {
        undo();
        return fail(ErrorCode::Unavailable, "virtual server '", vs.name,
                    "': ", free.error().message);
      }
      for (size_t i = 0; i < worker_count; ++i) {
        auto fd = openListener(*listen);
        if (!fd) {
          undo();
          return fail(ErrorCode::Unavailable, "virtual server '", vs.name,
                      "': ", fd.error().message);
        }
        opened.push_back(*fd);
        server->listen_fds.push_back(*fd);
      }
    }
    for (const auto& b : vs.backends) {
      auto address = resolve(b.address);
      if (!address) {
        undo();
        return fail(ErrorCode::InvalidArgument, "virtual server '", vs.name,
                    "': ", address.error().message);
      }
      std::shared_ptr<Backend> backend;
      bool carried = false;
      if (old != servers_.end()) {
        for (const auto& prev : old->second->backends) {
          if (prev->id == b.address.toString()) {
            backend = std::make_shared<Backend>(*prev);  // health and counters carry over
            carried = true;
          }
        }
      }
      if (!backend) {
        backend = std::make_shared<Backend>();
        backend->id = b.address.toString();
        auto& f = *metrics_;
        prometheus::Labels labels{{"vs", vs.name}, {"backend", backend->id}};
        backend->up = &f.up.Add(labels);
        backend->up->Set(1);
        backend->active = &f.active.Add(labels);
        backend->connections = &f.connections.Add(labels);
        backend->connect_failures = &f.connect_failures.Add(labels);
        backend->checks_inconclusive = &f.checks_inconclusive.Add(labels);
        auto to_backend = labels;
        to_backend["direction"] = "to_backend";
        auto to_client = labels;
        to_client["direction"] = "to_client";
        backend->bytes_to_backend = &f.bytes.Add(to_backend);
        backend->bytes_to_client = &f.bytes.Add(to_client);
        backend->ejections = &f.ejections.Add(labels);
        backend->check_seconds = &f.check_seconds.Add(
            labels, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                            0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
      }
      backend->config = b;
      backend->address = *address;
      backend->checking = false;
      if (!vs.health.enabled) {
        backend->health = health::HealthState(1, 1);  // never checked: stays usable
      } else if (!carried) {
        backend->health = health::HealthState(
            vs.health.rise, vs.health.fall,
            vs.health.start_down ? health::State::Down : health::State::Unknown);
        backend->up->Set(backend->health.usable() ? 1 : 0);
      } else {
        backend->health.setThresholds(vs.health.rise, vs.health.fall);
      }
      server->backends.push_back(std::move(backend));
    }
    next[vs.name] = server;
  }

  // Phase 2: commit. Listen sockets of servers that went (or moved) are closed by the workers.
  ++generation_;
  for (auto& [name, server] : next) {
    server->generation = generation_;
  }
  servers_ = std::move(next);
  mode_ = config.mode;
  vips_.swap(vips);  // `vips` now holds the ones no longer wanted; released at scope end
  if (workers_.empty() && !kernel) {
    for (size_t i = 0; i < worker_count; ++i) {
      auto* self = this;
      auto& io = control_;
      workers_.push_back(std::make_unique<Worker>(
          static_cast<int>(i),
          [self, &io](const std::string& vs, const std::string& backend, const std::string& why) {
            asio::post(io,
                       [self, vs, backend, why] { self->reportConnectFailure(vs, backend, why); });
          }));
      workers_.back()->start();
    }
  }
  if (kernel) {
    if (auto r = programKernel(); !r) {
      return r;  // at start-up this ends the process; on reload the old rules stay in place
    }
  } else {
    publish();
  }
  for (auto& [name, server] : servers_) {
    startChecks(server);
  }
  log::get("lb")->info("config applied virtual_servers={} workers={}", servers_.size(),
                       workers_.size());
  return ok();
}

void LoadBalancer::publish() {
  if (mode_ == Mode::Kernel) {
    if (auto r = programKernel(); !r) {
      log::get("lb")->error("kernel mode: {}", r.error().message);
    }
    return;
  }
  auto snapshot = std::make_shared<std::vector<std::shared_ptr<const VirtualServerSnapshot>>>();
  for (const auto& [name, server] : servers_) {
    auto vs = std::make_shared<VirtualServerSnapshot>();
    vs->name = name;
    vs->policy = server->config.policy;
    vs->connect_timeout = server->config.connect_timeout;
    vs->idle_timeout = server->config.idle_timeout;
    vs->on_down = server->config.on_down;
    vs->stalled_after = server->config.stalled_after;
    vs->retry_unanswered = server->config.retry_unanswered;
    vs->passive_ejection = server->config.passive_ejection;
    vs->postgres = server->config.postgres;
    vs->promotion_wait = server->config.promotion_wait;
    vs->listen_fds = server->listen_fds;
    vs->failed_connections = server->failed_connections;
    vs->retried_connections = server->retried_connections;
    for (const auto& b : server->backends) {
      vs->backends.push_back(BackendSlot{b->id, b->address, b->config.weight,
                                         b->config.max_connections, b->health.usable(),
                                         hashBytes(b->id), b->counters, b->promoting, b->draining});
    }
    snapshot->push_back(std::move(vs));
  }
  SnapshotPtr shared = snapshot;
  for (auto& w : workers_) {
    w->apply(shared);
  }
}

namespace {

void logTransition(const std::string& vs, const std::string& backend, const health::Transition& t) {
  auto logger = log::get("lb");
  if (t.to == health::State::Down) {
    logger->warn("backend {} DOWN: {} vs={}", backend, t.reason, vs);
  } else {
    logger->info("backend {} {}: {} vs={}", backend, health::stateName(t.to), t.reason, vs);
  }
}

}  // namespace

void LoadBalancer::startChecks(const std::shared_ptr<Server>& server) {
  if (!server->config.health.enabled) {
    return;
  }
  for (const auto& backend : server->backends) {
    if (backend->checking) {
      continue;
    }
    backend->checking = true;
    auto spec = server->config.health.probe;
    auto interval = server->config.health.interval;
    auto outage_interval = server->config.health.outage_interval;
    auto generation = generation_;
    std::weak_ptr<Server> weak_server = server;
    auto* self = this;
    auto loop = [self, backend, spec, interval, outage_interval, generation,
                 weak_server]() -> asio::awaitable<void> {
      std::minstd_rand rng(std::random_device{}());
      std::uniform_real_distribution<double> jitter(0.9, 1.1);
      auto timer = std::make_shared<asio::steady_timer>(self->control_);
      backend->check_timer = timer;
      auto check_port =
          backend->config.check_port ? backend->config.check_port : backend->address.port();
      net::Endpoint target{backend->address.address().to_string(), check_port};
      while (self->generation_ == generation) {
        auto result = co_await health::probe(self->control_.get_executor(), spec, target);
        auto server = weak_server.lock();
        if (self->generation_ != generation || !server) {
          break;
        }
        backend->last_probe = result;
        backend->check_seconds->Observe(std::chrono::duration<double>(result.latency).count());
        if (result.inconclusive) {
          // Our own exhaustion (EMFILE...) says nothing about the backend: its state stays.
          backend->checks_inconclusive->Increment();
          if (!backend->inconclusive) {
            backend->inconclusive = true;
            log::get("lb")->warn("backend {} check could not be made, state kept ({}): {} vs={}",
                                 backend->id, health::stateName(backend->health.state()),
                                 result.detail, server->config.name);
          }
          auto wait = std::chrono::duration_cast<Duration>(interval * jitter(rng));
          server.reset();
          timer->expires_after(wait);
          co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
          continue;
        }
        if (backend->inconclusive) {
          backend->inconclusive = false;
          log::get("lb")->info("backend {} checks can be made again vs={}", backend->id,
                               server->config.name);
        }
        auto transition =
            result.ok ? backend->health.onSuccess() : backend->health.onFailure(result.detail);
        bool promoting_changed = result.promoting != backend->promoting;
        bool draining_changed = result.draining != backend->draining;
        backend->promoting = result.promoting;
        backend->draining = result.draining;
        auto log_change = [&](bool changed, bool now, const char* on, const char* off) {
          if (changed) {
            log::get("lb")->info("backend {} {} vs={}", backend->id, now ? on : off,
                                 server->config.name);
          }
        };
        log_change(promoting_changed, result.promoting,
                   "PROMOTING: clients may connect, statements wait", "no longer promoting");
        log_change(draining_changed, result.draining,
                   "DRAINING: open connections stay, no new ones", "no longer draining");
        if ((promoting_changed || draining_changed) && !transition) {
          self->publish();
        }
        if (transition) {
          logTransition(server->config.name, backend->id, *transition);
          backend->up->Set(backend->health.usable() ? 1 : 0);
          if (transition->to == health::State::Down) {
            backend->ejections->Increment();
          }
          self->publish();
          if (transition->to == health::State::Down && server->noneUp()) {
            server->checkAllNow();
          }
        }
        // The next check starts an interval after this one started, never overlapping it.
        auto base = server->noneUp() ? outage_interval : interval;
        auto wait = std::chrono::duration_cast<Duration>(base * jitter(rng)) - result.latency;
        server.reset();  // a reload may drop the server while this loop sleeps
        timer->expires_after(std::max<Duration>(wait, std::chrono::milliseconds(1)));
        co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
      }
    };
    asio::co_spawn(control_, std::move(loop), asio::detached);
  }
}

void LoadBalancer::reportConnectFailure(const std::string& vs, const std::string& backend,
                                        const std::string& reason) {
  auto it = servers_.find(vs);
  if (it == servers_.end()) {
    return;
  }
  for (auto& b : it->second->backends) {
    if (b->id != backend) {
      continue;
    }
    auto transition = b->health.onPassiveFailure(reason);
    if (transition) {
      logTransition(vs, backend, *transition);
      b->up->Set(0);
      b->ejections->Increment();
      publish();
      if (!it->second->config.health.enabled) {
        // No check will ever bring it back: the ejection lasts `health.interval` (Envoy's base
        // ejection time), then the backend takes connections again. One still refusing is
        // ejected again by the next failed connect, which is retried on another backend.
        auto timer = std::make_shared<asio::steady_timer>(control_,
                                                          it->second->config.health.interval);
        std::weak_ptr<Server> weak_server = it->second;
        std::weak_ptr<Backend> weak_backend = b;
        auto generation = generation_;
        timer->async_wait([this, timer, weak_server, weak_backend, generation](
                              const boost::system::error_code&) {
          auto server = weak_server.lock();
          auto backend = weak_backend.lock();
          if (!server || !backend || generation_ != generation || backend->health.usable()) {
            return;  // a reload or stop since (which reset it), or back already
          }
          backend->health = health::HealthState(1, 1);
          backend->up->Set(1);
          log::get("lb")->info("backend {} UP: ejection over (no health checks) vs={}",
                               backend->id, server->config.name);
          publish();
        });
      } else if (it->second->noneUp()) {
        it->second->checkAllNow();
      }
    }
  }
}

void LoadBalancer::refreshMetrics() {
  auto bump = [](prometheus::Counter* c, uint64_t now, uint64_t& exported) {
    if (now > exported) {
      c->Increment(static_cast<double>(now - exported));
      exported = now;
    }
  };
  uint64_t accept_errors = 0;
  uint64_t local_connect_errors = 0;
  for (const auto& w : workers_) {
    auto stats = w->stats();
    accept_errors += stats.accept_errors;
    local_connect_errors += stats.local_connect_errors;
  }
  bump(&metrics_->accept_errors, accept_errors, exported_accept_errors_);
  bump(&metrics_->local_connect_errors, local_connect_errors, exported_local_connect_errors_);
  for (auto& [name, server] : servers_) {
    for (auto& b : server->backends) {
      auto& c = *b->counters;
      b->active->Set(static_cast<double>(c.active.load()));
      bump(b->connections, c.connections.load(), b->exported_connections);
      bump(b->connect_failures, c.connect_failures.load(), b->exported_failures);
      bump(b->bytes_to_backend, c.bytes_to_backend.load(), b->exported_to_backend);
      bump(b->bytes_to_client, c.bytes_to_client.load(), b->exported_to_client);
    }
  }
}

std::string LoadBalancer::statusJson() const {
  nlohmann::json servers = nlohmann::json::array();
  for (const auto& [name, server] : servers_) {
    nlohmann::json backends = nlohmann::json::array();
    for (const auto& b : server->backends) {
      backends.push_back(
          {{"address", b->id},
           {"state", b->health.usable() ? std::string(health::stateName(b->health.state()))
                     : b->promoting     ? std::string("PROMOTING")
                     : b->draining      ? std::string("DRAINING")
                                        : std::string(health::stateName(b->health.state()))},
           {"weight", b->config.weight},
           {"active", b->counters->active.load()},
           {"connections", b->counters->connections.load()},
           {"connect_failures", b->counters->connect_failures.load()},
           {"last_check", b->last_probe.detail},
           {"last_check_ms",
            std::chrono::duration<double, std::milli>(b->last_probe.latency).count()},
           {"last_error", b->health.lastError()}});
    }
    servers.push_back({{"name", name},
                       {"listen", server->config.listen.toString()},
                       {"policy", policyName(server->config.policy)},
                       {"failed_connections", server->failed_connections->load()},
                       {"retried_connections", server->retried_connections->load()},
                       {"backends", backends}});
  }
  return nlohmann::json{{"virtual_servers", servers}}.dump(2);
}

}  // namespace rampart::lb

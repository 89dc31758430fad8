#include "runtime/daemon.h"

#include <signal.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"

namespace rampart::runtime {
namespace asio = boost::asio;

Daemon::Daemon(std::string role)
    : role_(std::move(role)), registry_(metrics::makeRegistry()), admin_(io_.get_executor()) {
  admin_.route("/healthz",
               [](const net::http::Request&) { return net::http::Response::text(200, "ok\n"); });
  admin_.route("/readyz", [this](const net::http::Request&) {
    return ready_ ? net::http::Response::text(200, "ready\n")
                  : net::http::Response::text(503, "not ready\n");
  });
  auto& r = *registry_;
  auto& active = prometheus::BuildGauge()
                     .Name("rampart_admin_active_connections")
                     .Help("Open connections to the admin (and REST) server")
                     .Register(r)
                     .Add({});
  auto& rejected = prometheus::BuildCounter()
                       .Name("rampart_admin_rejected_connections_total")
                       .Help("Connections closed at once: over the admin server's connection cap")
                       .Register(r)
                       .Add({});
  auto& accept_errors = prometheus::BuildCounter()
                            .Name("rampart_admin_accept_errors_total")
                            .Help("accept() failures for lack of descriptors or memory")
                            .Register(r)
                            .Add({});
  auto& bad_requests = prometheus::BuildCounter()
                           .Name("rampart_admin_bad_requests_total")
                           .Help("Requests answered 400, 413 or 431 (malformed or too large)")
                           .Register(r)
                           .Add({});
  admin_.route("/metrics", [this, &active, &rejected, &accept_errors,
                            &bad_requests](const net::http::Request&) {
    auto stats = admin_.stats();
    auto bump = [](prometheus::Counter& c, uint64_t now) {
      if (static_cast<double>(now) > c.Value()) {
        c.Increment(static_cast<double>(now) - c.Value());
      }
    };
    active.Set(static_cast<double>(stats.active_connections));
    bump(rejected, stats.rejected_connections);
    bump(accept_errors, stats.accept_errors);
    bump(bad_requests, stats.bad_requests);
    if (scrape_) {
      scrape_();
    }
    return net::http::Response{200, metrics::kContentType, metrics::render(*registry_), {}};
  });
}

Daemon::~Daemon() { admin_.stop(); }

Result<net::Endpoint> Daemon::startAdmin(const net::Endpoint& where, const net::TlsFiles& tls) {
  if (!tls.empty()) {
    if (auto r = admin_.useTls(tls); !r) {
      return fail(r.error());
    }
  }
  auto bound = admin_.listen(where);
  if (bound) {
    log::get(role_)->info("admin listening address={} tls={} client_certificates={}",
                          bound->toString(), tls.empty() ? "off" : "on",
                          tls.ca.empty() ? "not required" : "required");
  }
  return bound;
}

void Daemon::requestShutdown() {
  if (shutting_down_) {
    return;
  }
  shutting_down_ = true;
  auto finish = [this]() -> asio::awaitable<void> {
    if (shutdown_) {
      co_await shutdown_();
    }
    admin_.stop();
    io_.stop();
  };
  asio::co_spawn(io_, finish, asio::detached);
}

int Daemon::run(std::function<asio::awaitable<int>()> main) {
  asio::signal_set signals(io_, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int signo) {
    if (ec) {
      return;
    }
    if (signo == SIGHUP) {
      log::get(role_)->info("reload requested signal=SIGHUP");
      if (reload_) {
        reload_();
      }
    } else {
      log::get(role_)->info("shutdown requested signal={}",
                            signo == SIGTERM ? "SIGTERM" : "SIGINT");
      requestShutdown();
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  auto body = [this, main]() -> asio::awaitable<void> {
    exit_code_ = co_await main();
    if (!shutting_down_) {
      // Otherwise the shutdown hook is still running and stops the loop when it is done.
      admin_.stop();
      io_.stop();
    }
  };
  asio::co_spawn(io_, body, asio::detached);
  io_.run();
  return exit_code_;
}

}  // namespace rampart::runtime

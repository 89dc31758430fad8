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
  admin_.route("/healthz", [](const net::http::Request&) {
    return net::http::Response::text(200, "ok\n");
  });
  admin_.route("/readyz", [this](const net::http::Request&) {
    return ready_ ? net::http::Response::text(200, "ready\n")
                  : net::http::Response::text(503, "not ready\n");
  });
  admin_.route("/metrics", [this](const net::http::Request&) {
    if (scrape_) {
      scrape_();
    }
    return net::http::Response{200, metrics::kContentType, metrics::render(*registry_)};
  });
}

Daemon::~Daemon() { admin_.stop(); }

Result<net::Endpoint> Daemon::startAdmin(const net::Endpoint& where) {
  auto bound = admin_.listen(where);
  if (bound) {
    log::get(role_)->info("admin listening address={}", bound->toString());
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
      log::get(role_)->info("shutdown requested signal={}", signo == SIGTERM ? "SIGTERM" : "SIGINT");
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

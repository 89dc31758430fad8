#pragma once
// Daemon: what every long-running Rampart role shares. One control-plane event loop; an admin
// HTTP server with /metrics (Prometheus text), /healthz (the loop is alive) and /readyz (the
// role says it is ready); SIGTERM/SIGINT run the role's graceful shutdown and then stop the
// loop; SIGHUP calls the role's reload hook. The admin server listens on loopback port 0 unless
// told otherwise. Use from the loop's thread only.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "base/result.h"
#include "metrics/metrics.h"
#include "net/endpoint.h"
#include "net/http/server.h"

namespace rampart::runtime {

class Daemon {
 public:
  explicit Daemon(std::string role);
  ~Daemon();

  boost::asio::io_context& io() { return io_; }
  metrics::Registry& metrics() { return *registry_; }
  net::http::Server& admin() { return admin_; }

  // Starts the admin server (call once); returns where it listens. With `tls` (config `admin.tls`)
  // it serves HTTPS only, and with `tls.ca` requires client certificates signed by that CA.
  Result<net::Endpoint> startAdmin(const net::Endpoint& where, const net::TlsFiles& tls = {});
  void setReady(bool ready) { ready_ = ready; }
  // SIGHUP handler (e.g. re-read the config file; keep the old one if the new one is invalid).
  void onReload(std::function<void()> hook) { reload_ = std::move(hook); }
  // Graceful shutdown on SIGTERM/SIGINT (e.g. resign leadership); the loop stops after it.
  void onShutdown(std::function<boost::asio::awaitable<void>()> hook) {
    shutdown_ = std::move(hook);
  }
  // Called before each /metrics scrape (e.g. to copy data-path counters into the registry).
  void onScrape(std::function<void()> hook) { scrape_ = std::move(hook); }
  // Runs `main` on the loop and the loop until `main` returns or a shutdown completes.
  // Returns the process exit code.
  int run(std::function<boost::asio::awaitable<int>()> main);
  // Requests a graceful shutdown from inside the loop.
  void requestShutdown();

 private:
  std::string role_;
  boost::asio::io_context io_;
  std::shared_ptr<metrics::Registry> registry_;
  net::http::Server admin_;
  bool ready_ = false;
  bool shutting_down_ = false;
  int exit_code_ = 0;
  std::function<void()> reload_;
  std::function<void()> scrape_;
  std::function<boost::asio::awaitable<void>()> shutdown_;
};

}  // namespace rampart::runtime

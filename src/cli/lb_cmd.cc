// `rampart lb`: the health-checked virtual server (see lb/load_balancer.h), and
// `rampart lb status`, a table of its backends.

#include <cstdio>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "cli/cli.h"
#include "lb/config.h"
#include "lb/load_balancer.h"
#include "net/http/client.h"
#include "runtime/daemon.h"

namespace rampart::cli {
namespace {
namespace asio = boost::asio;

struct LbFlags {
  std::string config_file;
  lb::LvscareFlags lvscare;
  bool admin_given = false;
};

Result<lb::LbConfig> loadConfig(const LbFlags& flags) {
  if (!flags.config_file.empty()) {
    if (!flags.lvscare.vs.empty() || !flags.lvscare.rs.empty()) {
      return fail(ErrorCode::InvalidArgument, "give either --config or --vs/--rs, not both");
    }
    auto config = lb::loadLbConfigFile(flags.config_file);
    if (config && flags.admin_given) {
      auto admin = net::parseEndpoint(flags.lvscare.admin);
      if (!admin) {
        return fail(ErrorCode::InvalidArgument, "--admin: ", admin.error().message);
      }
      config->admin = *admin;
    }
    return config;
  }
  if (flags.lvscare.vs.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "nothing to balance: give --config FILE, or --vs VIP:PORT with --rs backends");
  }
  return lb::fromLvscareFlags(flags.lvscare);
}

int runLb(const LbFlags& flags) {
  auto config = loadConfig(flags);
  if (!config) {
    std::fprintf(stderr, "rampart lb: %s\n", config.error().message.c_str());
    return kUsageError;
  }
  runtime::Daemon daemon("lb");
  lb::LoadBalancer balancer(daemon.io(), daemon.metrics());
  if (auto applied = balancer.apply(*config); !applied) {
    std::fprintf(stderr, "rampart lb: %s\n", applied.error().message.c_str());
    return kUsageError;
  }
  daemon.admin().route("/status", [&balancer](const net::http::Request&) {
    return net::http::Response::json(200, balancer.statusJson());
  });
  daemon.onScrape([&balancer] { balancer.refreshMetrics(); });
  auto admin = daemon.startAdmin(config->admin, config->admin_tls);
  if (!admin) {
    std::fprintf(stderr, "rampart lb: admin: %s\n", admin.error().message.c_str());
    return kUsageError;
  }
  daemon.setReady(true);
  daemon.onReload([&flags, &balancer] {
    if (flags.config_file.empty()) {
      log::get("lb")->info("reload ignored: no config file (flags only)");
      return;
    }
    auto next = loadConfig(flags);
    if (!next) {
      log::get("lb")->error("reload rejected, keeping the running config: {}",
                            next.error().message);
      return;
    }
    if (auto applied = balancer.apply(*next); !applied) {
      log::get("lb")->error("reload rejected, keeping the running config: {}",
                            applied.error().message);
    }
  });
  asio::steady_timer forever(daemon.io());
  bool stopping = false;
  daemon.onShutdown([&]() -> asio::awaitable<void> {
    stopping = true;
    forever.cancel();
    balancer.stop();
    co_return;
  });
  return daemon.run([&]() -> asio::awaitable<int> {
    while (!stopping) {
      forever.expires_after(std::chrono::hours(24));
      co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return 0;
  });
}

int runStatus(const std::string& admin_text, bool json) {
  auto admin = net::parseEndpoint(admin_text);
  if (!admin) {
    std::fprintf(stderr, "rampart lb status: --admin: %s\n", admin.error().message.c_str());
    return kUsageError;
  }
  asio::io_context io;
  net::http::Client client(io.get_executor());
  auto fetch = [&]() -> asio::awaitable<Result<net::http::Response>> {
    net::http::Request request{"GET", "/status", {}, {}};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    co_return co_await client.fetch(*admin, std::move(request), deadline);
  };
  auto future = asio::co_spawn(io, fetch(), asio::use_future);
  io.run();
  auto response = future.get();
  if (!response || response->status != 200) {
    std::fprintf(stderr, "rampart lb status: %s\n",
                 response ? ("HTTP " + std::to_string(response->status)).c_str()
                          : response.error().message.c_str());
    return 1;
  }
  if (json) {
    std::printf("%s\n", response->body.c_str());
    return 0;
  }
  auto status = nlohmann::json::parse(response->body, nullptr, false);
  if (status.is_discarded()) {
    std::fprintf(stderr, "rampart lb status: invalid answer from %s\n", admin_text.c_str());
    return 1;
  }
  std::printf("%-12s %-22s %-22s %-8s %7s %11s %9s  %s\n", "VS", "LISTEN", "BACKEND", "STATE",
              "ACTIVE", "CONNECTIONS", "FAILURES", "LAST CHECK");
  for (const auto& vs : status["virtual_servers"]) {
    for (const auto& b : vs["backends"]) {
      std::string last = b.value("last_check", "");
      if (b.value("state", "") == "DOWN" && !b.value("last_error", "").empty()) {
        last = b.value("last_error", "");
      }
      std::printf("%-12s %-22s %-22s %-8s %7lld %11llu %9llu  %s\n",
                  vs.value("name", "").c_str(), vs.value("listen", "").c_str(),
                  b.value("address", "").c_str(), b.value("state", "").c_str(),
                  static_cast<long long>(b.value("active", 0)),
                  static_cast<unsigned long long>(b.value("connections", 0ull)),
                  static_cast<unsigned long long>(b.value("connect_failures", 0ull)),
                  last.c_str());
    }
  }
  return 0;
}

}  // namespace

void addLb(CLI::App& app, Action& action) {
  auto flags = std::make_shared<LbFlags>();
  auto* cmd = app.add_subcommand(
      "lb", "Health-checked TCP virtual server (lvscare's flags work: --vs, --rs, ...)");
  cmd->add_option("-c,--config", flags->config_file, "YAML config file (SIGHUP reloads it)");
  auto& lv = flags->lvscare;
  cmd->add_option("--vs", lv.vs, "virtual server address, e.g. 127.0.0.100:6443");
  cmd->add_option("--rs", lv.rs, "real server (backend) address; repeat for each");
  cmd->add_option("--health-path", lv.health_path, "HTTP check path")->capture_default_str();
  cmd->add_option("--health-schem,--health-scheme", lv.health_scheme,
                  "https (lvscare's default; certificate not verified), http or tcp")
      ->capture_default_str();
  cmd->add_option("--health-status", lv.health_status,
                  "extra HTTP status accepted as healthy (e.g. 401); repeatable");
  cmd->add_option("--health-timeout", lv.health_timeout, "check timeout")->capture_default_str();
  cmd->add_option("--interval", lv.interval, "check interval: 100ms, 5s, or 5 (seconds)")
      ->capture_default_str();
  cmd->add_option("--scheduler", lv.scheduler, "rr, lc or sh")->capture_default_str();
  cmd->add_option("--iface", lv.iface,
                  "put the VIP on this interface, creating it as a dummy if needed (root)");
  cmd->add_option("--mode", lv.mode, "user (user-space proxy) or kernel (nftables DNAT, root)")
      ->capture_default_str();
  auto* admin = cmd->add_option("--admin", lv.admin,
                                "admin HTTP address: /metrics, /status, /healthz, /readyz")
                    ->capture_default_str();
  cmd->callback([&action, flags, admin] {
    if (action) {
      return;  // `lb status` chose its own action
    }
    flags->admin_given = admin->count() > 0;
    action = [flags] { return runLb(*flags); };
  });

  auto status_admin = std::make_shared<std::string>("127.0.0.1:9090");
  auto status_json = std::make_shared<bool>(false);
  auto* status = cmd->add_subcommand("status", "Show the backends of a running `rampart lb`");
  status->add_option("--admin", *status_admin, "the admin address of the running lb")
      ->capture_default_str();
  status->add_flag("--json", *status_json, "print the raw JSON");
  status->callback([&action, status_admin, status_json] {
    action = [status_admin, status_json] { return runStatus(*status_admin, *status_json); };
  });
}

}  // namespace rampart::cli

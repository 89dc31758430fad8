// `rampart controller`: the leader-elected reconcilers (kube-controller-manager's job) against
// a Kubernetes-compatible API, with kube-controller-manager's flag names where they exist.
// Several run; the one holding the Lease acts. Prints JSON lines on stdout when it starts and
// stops acting (with CLOCK_MONOTONIC nanoseconds, for handover measurements).

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <CLI/CLI.hpp>

#include "base/duration.h"
#include "base/log.h"
#include "cli/cli.h"
#include "controller/manager.h"
#include "controller/reconcilers.h"
#include "kube/connect.h"
#include "runtime/daemon.h"
#include "runtime/process.h"

namespace rampart::cli {
namespace {

struct ControllerFlags {
  std::string kubeconfig;
  bool leader_elect = true;
  std::string lease_duration = "800ms";
  std::string renew_deadline = "600ms";
  std::string retry_period = "100ms";
  std::string lease_namespace = "kube-system";
  std::string lease_name = "rampart-controller";
  std::string identity;
  // Rampart's defaults replace a lost node's pods within about a second and a half (node agents
  // renew every 200 ms, lease 800 ms); Kubernetes' are 50 s and 300 s tolerations.
  std::string node_monitor_grace_period = "1s";
  std::string node_fence_after;  // "": the grace period
  int64_t not_ready_toleration_seconds = 0;
  int64_t unreachable_toleration_seconds = 0;
  std::vector<std::string> controllers = {"*"};
  std::string admin;
  int concurrent_syncs = 4;
  // The database controller (PostgresCluster): what its members get to reach etcd. Every
  // cluster's members share this one client certificate today; a role per cluster (least
  // privilege, docs/OPERATIONS.md) is later work.
  std::vector<std::string> database_etcd_servers;
  std::string database_etcd_cafile;
  std::string database_etcd_certfile;
  std::string database_etcd_keyfile;
  std::string database_etcd_prefix = "/rampart/db";
  std::string database_data_dir = "/var/lib/rampart/databases";
  std::string database_binary;  // "": this executable
  std::string database_pg_bin_dir = "/usr/lib/postgresql/15/bin";
};

int usage(const std::string& message) {
  std::fprintf(stderr, "rampart controller: %s\n", message.c_str());
  return kUsageError;
}

Result<Duration> durationFlag(const std::string& name, const std::string& text) {
  auto d = parseDuration(text);
  if (!d) {
    return fail(ErrorCode::InvalidArgument, name, ": ", d.error().message);
  }
  if (*d <= Duration::zero()) {
    return fail(ErrorCode::InvalidArgument, name, ": must be positive, got ", text);
  }
  return *d;
}

// kube-controller-manager's identity: the host name and a random suffix, unique per process.
std::string defaultIdentity() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "rampart");
  }
  std::random_device rd;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%08x%08x", rd(), rd());
  return std::string(host) + "_" + suffix;
}

Result<std::string> readWhole(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(ErrorCode::InvalidArgument, flag, ": cannot read ", path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// --database-*: the settings the database controller hands its members.
Result<controller::db::DbSettings> databaseSettings(const ControllerFlags& flags) {
  controller::db::DbSettings s;
  s.etcd_endpoints = flags.database_etcd_servers;
  s.etcd_prefix = flags.database_etcd_prefix;
  s.data_root = flags.database_data_dir;
  s.binary = flags.database_binary.empty() ? runtime::selfExecutable() : flags.database_binary;
  s.pg_bin_dir = flags.database_pg_bin_dir;
  if (!s.etcd_prefix.starts_with("/")) {
    return fail(ErrorCode::InvalidArgument, "--database-etcd-prefix must start with '/'");
  }
  if (!s.data_root.starts_with("/")) {
    return fail(ErrorCode::InvalidArgument, "--database-data-dir must be an absolute path");
  }
  bool any_tls = !flags.database_etcd_cafile.empty() || !flags.database_etcd_certfile.empty() ||
                 !flags.database_etcd_keyfile.empty();
  if (any_tls) {
    if (flags.database_etcd_cafile.empty() || flags.database_etcd_certfile.empty() ||
        flags.database_etcd_keyfile.empty()) {
      return fail(ErrorCode::InvalidArgument,
                  "--database-etcd-cafile, --database-etcd-certfile and --database-etcd-keyfile "
                  "go together");
    }
    for (auto [flag, path, out] :
         {std::tuple{"--database-etcd-cafile", &flags.database_etcd_cafile, &s.etcd_ca},
          std::tuple{"--database-etcd-certfile", &flags.database_etcd_certfile, &s.etcd_cert},
          std::tuple{"--database-etcd-keyfile", &flags.database_etcd_keyfile, &s.etcd_key}}) {
      auto text = readWhole(flag, *path);
      if (!text) {
        return fail(text.error());
      }
      *out = std::move(*text);
    }
  }
  return s;
}

void printEvent(const char* event, const std::string& identity) {
  std::printf("{\"event\":\"%s\",\"identity\":\"%s\",\"monotonic_ns\":%lld}\n", event,
              identity.c_str(), static_cast<long long>(monotonicNanos()));
  std::fflush(stdout);
}

int runController(const ControllerFlags& flags) {
  controller::ManagerOptions options;
  options.leader_elect = flags.leader_elect;
  auto lease = durationFlag("--leader-elect-lease-duration", flags.lease_duration);
  auto renew = durationFlag("--leader-elect-renew-deadline", flags.renew_deadline);
  auto retry = durationFlag("--leader-elect-retry-period", flags.retry_period);
  auto grace = durationFlag("--node-monitor-grace-period", flags.node_monitor_grace_period);
  auto fence = durationFlag("--node-fence-after", flags.node_fence_after.empty()
                                                      ? flags.node_monitor_grace_period
                                                      : flags.node_fence_after);
  for (const auto* r : {&lease, &renew, &retry, &grace, &fence}) {
    if (!*r) {
      return usage(r->error().message);
    }
  }
  // The fencing arithmetic (controller/leader.h) needs D > D - M > 0, and renewals often
  // enough to keep the deadline ahead: renew deadline > retry period.
  if (*renew >= *lease) {
    return usage("--leader-elect-lease-duration (" + flags.lease_duration +
                 ") must be greater than --leader-elect-renew-deadline (" + flags.renew_deadline +
                 ")");
  }
  if (*retry >= *renew) {
    return usage("--leader-elect-renew-deadline (" + flags.renew_deadline +
                 ") must be greater than --leader-elect-retry-period (" + flags.retry_period +
                 ")");
  }
  if (flags.lease_namespace.empty() || flags.lease_name.empty()) {
    return usage("--leader-elect-resource-namespace and --leader-elect-resource-name must not "
                 "be empty");
  }
  // Replacing the pods of an unreachable node is safe only once they have stopped there: the
  // node's agent fences itself by its own deadline, so the controller must not count it fenced
  // sooner than the grace after which it calls the node unreachable.
  if (*fence < *grace) {
    return usage("--node-fence-after (" + flags.node_fence_after +
                 ") must not be shorter than --node-monitor-grace-period (" +
                 flags.node_monitor_grace_period + ")");
  }
  for (auto [name, value] :
       {std::pair{"--default-not-ready-toleration-seconds", flags.not_ready_toleration_seconds},
        std::pair{"--default-unreachable-toleration-seconds",
                  flags.unreachable_toleration_seconds}}) {
    if (value < 0) {
      return usage(std::string(name) + " must not be negative, got " + std::to_string(value));
    }
  }
  if (flags.concurrent_syncs < 1 || flags.concurrent_syncs > 64) {
    return usage("--concurrent-syncs must be 1..64, got " +
                 std::to_string(flags.concurrent_syncs));
  }
  auto names = controller::selectControllers(flags.controllers);
  if (!names) {
    return usage(names.error().message);
  }
  std::optional<net::Endpoint> admin;
  if (!flags.admin.empty()) {
    auto parsed = net::parseEndpoint(flags.admin);
    if (!parsed) {
      return usage("--admin: " + parsed.error().message);
    }
    admin = *parsed;
  }
  options.leader.identity = flags.identity.empty() ? defaultIdentity() : flags.identity;
  options.leader.lease_duration = *lease;
  options.leader.renew_deadline = *renew;
  options.leader.retry_period = *retry;
  options.lease_namespace = flags.lease_namespace;
  options.lease_name = flags.lease_name;
  options.workers = flags.concurrent_syncs;

  runtime::Daemon daemon("controller");
  kube::HttpClientOptions http;
  http.request_timeout = std::chrono::seconds(5);
  http.user_agent = "rampart-controller";
  // Rampart's API servers send a bookmark every 250 ms on a quiet watch: 2 s of silence means
  // the stream is held by a stalled server; dropping it reconnects through the VIP, which has
  // ejected that server (the node lifecycle holds its decisions meanwhile).
  http.watch_idle_timeout = std::chrono::seconds(2);
  auto client = kube::connect(daemon.io().get_executor(), flags.kubeconfig, http);
  if (!client) {
    return usage(client.error().message);
  }
  // The Lease gets a client (a connection) of its own: renewals never wait behind writes. Its
  // requests end at the renew deadline: a renewal answered later is useless (the leader has
  // fenced itself by then), and a standby whose connection is held by a stalled API server
  // (frozen or cut off: the kernel accepted, nobody answers) must drop it and reconnect through
  // the VIP, which has ejected that server, instead of waiting 5 s while the Lease expires
  // unclaimed (seen with `rampart chaos cluster --fault freeze-master`: no handover in 5 s).
  kube::HttpClientOptions lease_http = http;
  lease_http.request_timeout = *renew;
  auto lease_client = kube::connect(daemon.io().get_executor(), flags.kubeconfig, lease_http);
  if (!lease_client) {
    return usage(lease_client.error().message);
  }
  options.lease_client = lease_client->get();
  if (admin) {
    if (auto bound = daemon.startAdmin(*admin); !bound) {
      return usage("--admin: " + bound.error().message);
    }
  }
  controller::Manager manager(**client, SteadyClock::instance(),
                              [] { return std::chrono::system_clock::now(); }, options,
                              &daemon.metrics());
  controller::ReconcilerOptions reconciler_options;
  auto database = databaseSettings(flags);
  if (!database) {
    return usage(database.error().message);
  }
  reconciler_options.database = std::move(*database);
  reconciler_options.node_lifecycle.grace = *grace;
  reconciler_options.node_lifecycle.fence_after = *fence;
  reconciler_options.taint_manager.not_ready_toleration_seconds =
      flags.not_ready_toleration_seconds;
  reconciler_options.taint_manager.unreachable_toleration_seconds =
      flags.unreachable_toleration_seconds;
  if (auto added = controller::addControllers(manager, *names, reconciler_options); !added) {
    return usage(added.error().message);
  }
  std::string identity = options.leader.identity;
  manager.onActing([identity](bool acting) {
    printEvent(acting ? "acting" : "standby", identity);
  });
  std::string list;
  for (const auto& n : *names) {
    list += (list.empty() ? "" : ",") + n;
  }
  log::get("controller")->info("starting identity={} leader_elect={} lease={}/{} duration={} "
                               "renew_deadline={} retry={} controllers={}",
                               identity, flags.leader_elect, flags.lease_namespace,
                               flags.lease_name, flags.lease_duration, flags.renew_deadline,
                               flags.retry_period, list);
  printEvent("started", identity);
  daemon.setReady(true);
  daemon.onShutdown([&manager]() -> boost::asio::awaitable<void> {
    co_await manager.shutdown();
  });
  return daemon.run([&manager]() -> boost::asio::awaitable<int> {
    co_await manager.run();
    co_return 0;
  });
}

}  // namespace

void addController(CLI::App& app, Action& action) {
  auto flags = std::make_shared<ControllerFlags>();
  auto* cmd = app.add_subcommand(
      "controller", "Run the leader-elected controllers (ReplicaSet, disruption budgets, ...)");
  cmd->add_option("--kubeconfig", flags->kubeconfig, "kubeconfig of the API server to use")
      ->required();
  cmd->add_option("--leader-elect", flags->leader_elect,
                  "elect a leader on a Lease before acting (true/false)")
      ->capture_default_str();
  cmd->add_option("--leader-elect-lease-duration", flags->lease_duration,
                  "how long candidates wait after the last renewal before taking over")
      ->capture_default_str();
  cmd->add_option("--leader-elect-renew-deadline", flags->renew_deadline,
                  "the leader stops acting this long after sending its last successful renewal")
      ->capture_default_str();
  cmd->add_option("--leader-elect-retry-period", flags->retry_period,
                  "how often the leader renews and candidates check the Lease")
      ->capture_default_str();
  cmd->add_option("--leader-elect-resource-namespace", flags->lease_namespace,
                  "namespace of the Lease")
      ->capture_default_str();
  cmd->add_option("--leader-elect-resource-name", flags->lease_name, "name of the Lease")
      ->capture_default_str();
  cmd->add_option("--leader-elect-identity", flags->identity,
                  "this candidate's holderIdentity (default: hostname_random)");
  cmd->add_option("--node-monitor-grace-period", flags->node_monitor_grace_period,
                  "a node whose Lease is not renewed for this long becomes NotReady")
      ->capture_default_str();
  cmd->add_option("--node-fence-after", flags->node_fence_after,
                  "an unreachable node's pods are replaced only after it has been silent this "
                  "long (its agent has stopped them by then; default: the grace period)");
  cmd->add_option("--default-not-ready-toleration-seconds", flags->not_ready_toleration_seconds,
                  "how long pods without their own toleration stay on a not-ready node")
      ->capture_default_str();
  cmd->add_option("--default-unreachable-toleration-seconds",
                  flags->unreachable_toleration_seconds,
                  "how long pods without their own toleration stay on an unreachable node")
      ->capture_default_str();
  cmd->add_option("--controllers", flags->controllers,
                  "controllers to run: * (the defaults), name, -name; comma-separated")
      ->delimiter(',');
  cmd->add_option("--concurrent-syncs", flags->concurrent_syncs,
                  "workers per controller (keys reconciled at once)")
      ->capture_default_str();
  cmd->add_option("--admin", flags->admin,
                  "admin HTTP address (127.0.0.1:PORT): /metrics, /healthz, /readyz");
  cmd->add_option("--database-etcd-servers", flags->database_etcd_servers,
                  "etcd endpoints the database controller's members use "
                  "(https://10.0.0.1:2379,...); unset: PostgresClusters stay Failed")
      ->delimiter(',');
  cmd->add_option("--database-etcd-cafile", flags->database_etcd_cafile,
                  "CA of those etcd servers (copied into each cluster's <name>-etcd Secret)");
  cmd->add_option("--database-etcd-certfile", flags->database_etcd_certfile,
                  "client certificate the members present to etcd (copied likewise)");
  cmd->add_option("--database-etcd-keyfile", flags->database_etcd_keyfile,
                  "its key (copied likewise)");
  cmd->add_option("--database-etcd-prefix", flags->database_etcd_prefix,
                  "etcd prefix of the members' keys (<prefix>/<namespace>.<name>/)")
      ->capture_default_str();
  cmd->add_option("--database-data-dir", flags->database_data_dir,
                  "node directory holding the members' data directories (a hostPath)")
      ->capture_default_str();
  cmd->add_option("--database-binary", flags->database_binary,
                  "the rampart binary on the nodes (default: this one)");
  cmd->add_option("--database-pg-bin-dir", flags->database_pg_bin_dir,
                  "PostgreSQL's binaries on the nodes")
      ->capture_default_str();
  cmd->callback([&action, flags] { action = [flags] { return runController(*flags); }; });
}

}  // namespace rampart::cli

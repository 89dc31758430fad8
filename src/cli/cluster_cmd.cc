// `rampart up`, `rampart down`, `rampart status` and `rampart node add|remove`: a whole HA
// cluster on this machine (cluster/up.h), each node a network namespace.

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "base/duration.h"
#include "cli/cli.h"
#include "cluster/credentials.h"
#include "cluster/status.h"
#include "cluster/up.h"
#include "runtime/process.h"

namespace rampart::cli {
namespace {

int usage(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "rampart %s: %s\n", command.c_str(), message.c_str());
  return kUsageError;
}

int failed(const std::string& command, const Error& error) {
  std::fprintf(stderr, "rampart %s: %s\n", command.c_str(), error.message.c_str());
  return error.code == ErrorCode::InvalidArgument || error.code == ErrorCode::PermissionDenied
             ? kUsageError
             : 1;
}

void progress(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::vector<std::string> splitZones(const std::string& text) {
  std::vector<std::string> zones;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    zones.push_back(text.substr(start, comma == std::string::npos ? std::string::npos
                                                                   : comma - start));
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return zones;
}

struct UpFlags {
  std::string dir;
  std::string name = "rampart";
  int masters = 3;
  int workers = 3;
  std::string zones = "a,b,c";
  std::string timeout = "90s";
};

int runUp(const UpFlags& flags) {
  cluster::UpOptions options;
  options.dir = flags.dir;
  options.spec.name = flags.name;
  options.spec.masters = flags.masters;
  options.spec.workers = flags.workers;
  options.spec.zones = splitZones(flags.zones);
  auto timeout = parseDuration(flags.timeout);
  if (!timeout) {
    return usage("up", "--timeout: " + timeout.error().message);
  }
  options.ready_timeout = *timeout;
  options.binary = runtime::selfExecutable();
  options.progress = progress;
  auto report = cluster::up(options);
  if (!report) {
    return failed("up", report.error());
  }
  const auto& state = report->state;
  int masters = static_cast<int>(state.masters().size());
  int workers = static_cast<int>(state.nodes.size()) - masters;
  std::string dir = cluster::absoluteDir(flags.dir);
  std::printf(
      "\nCluster %s is up: %d masters, %d workers, all Ready.\n"
      "The API is at https://127.0.0.1:%u (on every node: https://%s:%u, the VIP).\n\n"
      "Next:\n"
      "  export KUBECONFIG=%s\n"
      "  kubectl get nodes\n"
      "  rampart status --dir %s\n"
      "  rampart down --dir %s      # stop it; `rampart up --dir %s` brings it back\n",
      state.name.c_str(), masters, workers, state.gateway_port, cluster::kApiVip,
      cluster::kApiPort, cluster::adminKubeconfig(dir).c_str(), dir.c_str(), dir.c_str(),
      dir.c_str());
  return 0;
}

}  // namespace

void addCluster(CLI::App& app, Action& action) {
  auto up_flags = std::make_shared<UpFlags>();
  auto* up = app.add_subcommand(
      "up", "Create (or bring back) a highly available cluster on this machine: masters with "
            "etcd, API server and controllers, workers, a VIP on every node (root)");
  up->add_option("--dir", up_flags->dir, "the cluster's directory (state, data, kubeconfig)")
      ->required();
  up->add_option("--name", up_flags->name,
                 "cluster name: prefixes node and namespace names (one per machine)")
      ->capture_default_str();
  up->add_option("--masters", up_flags->masters, "masters (1, 3, 5 or 7)")->capture_default_str();
  up->add_option("--workers", up_flags->workers, "workers (0..100)")->capture_default_str();
  up->add_option("--zones", up_flags->zones, "zones, comma-separated; nodes round-robin over them")
      ->capture_default_str();
  up->add_option("--timeout", up_flags->timeout, "how long to wait for every node to be Ready")
      ->capture_default_str();
  up->callback([&action, up_flags] { action = [up_flags] { return runUp(*up_flags); }; });

  auto down_dir = std::make_shared<std::string>();
  auto purge = std::make_shared<bool>(false);
  auto* down = app.add_subcommand(
      "down", "Stop a cluster made by `rampart up`: every process, pod, namespace and link "
              "(the directory stays, so `up` brings it back, unless --purge)");
  down->add_option("--dir", *down_dir, "the cluster's directory")->required();
  down->add_flag("--purge", *purge, "also delete the directory (data, credentials)");
  down->callback([&action, down_dir, purge] {
    action = [down_dir, purge] {
      auto r = cluster::down({*down_dir, *purge, progress});
      return r ? 0 : failed("down", r.error());
    };
  });

  auto* node = app.add_subcommand("node", "Add a node to, or remove one from, a cluster made by "
                                          "`rampart up`");
  node->require_subcommand(1);
  auto add = std::make_shared<cluster::NodeAddOptions>();
  auto add_role = std::make_shared<std::string>("worker");
  auto* add_cmd = node->add_subcommand(
      "add", "Add a node: a master joins etcd as a member first, then starts its API server and "
             "controller; every VIP learns of it");
  add_cmd->add_option("--dir", add->dir, "the cluster's directory")->required();
  add_cmd->add_option("--role", *add_role, "master or worker")->capture_default_str();
  add_cmd->add_option("--zone", add->zone, "its zone (default: the one with the fewest nodes)");
  add_cmd->callback([&action, add, add_role] {
    action = [add, add_role] {
      auto role = cluster::parseRole(*add_role);
      if (!role) {
        return usage("node add", "--role: " + role.error().message);
      }
      add->role = *role;
      add->binary = runtime::selfExecutable();
      add->progress = progress;
      auto r = cluster::addNode(*add);
      return r ? 0 : failed("node add", r.error());
    };
  });
  auto remove = std::make_shared<cluster::NodeRemoveOptions>();
  auto drain_timeout = std::make_shared<std::string>("60s");
  auto* remove_cmd = node->add_subcommand(
      "remove", "Remove a node: cordon, drain (disruption budgets honoured), stop, remove its "
                "etcd member (a master), delete the Node");
  remove_cmd->add_option("--dir", remove->dir, "the cluster's directory")->required();
  remove_cmd->add_option("name", remove->node, "the node")->required();
  remove_cmd->add_option("--drain-timeout", *drain_timeout,
                         "give up when the node's pods cannot all be evicted in this time")
      ->capture_default_str();
  remove_cmd->callback([&action, remove, drain_timeout] {
    action = [remove, drain_timeout] {
      auto timeout = parseDuration(*drain_timeout);
      if (!timeout) {
        return usage("node remove", "--drain-timeout: " + timeout.error().message);
      }
      remove->drain_timeout = *timeout;
      remove->progress = progress;
      auto r = cluster::removeNode(*remove);
      return r ? 0 : failed("node remove", r.error());
    };
  });

  auto status_dir = std::make_shared<std::string>();
  auto status_json = std::make_shared<bool>(false);
  auto* status = app.add_subcommand(
      "status", "Nodes, etcd members, API servers, the acting controller and each node's VIP view "
                "of a cluster made by `rampart up`");
  status->add_option("--dir", *status_dir, "the cluster's directory")->required();
  status->add_flag("--json", *status_json, "print JSON");
  status->callback([&action, status_dir, status_json] {
    action = [status_dir, status_json] {
      auto report = cluster::collectStatus(*status_dir);
      if (!report) {
        return failed("status", report.error());
      }
      std::printf("%s", (*status_json ? cluster::statusJson(*report) + "\n"
                                      : cluster::statusTable(*report))
                            .c_str());
      return cluster::healthy(*report) ? 0 : 1;
    };
  });
}

}  // namespace rampart::cli

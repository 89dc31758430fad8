#include "cluster/up.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/runtime/node_cleanup.h"
#include "cluster/credentials.h"
#include "cluster/node_ops.h"
#include "cluster/http_call.h"
#include "cluster/lab_network.h"
#include "cluster/processes.h"
#include "lab/etcd_cluster.h"
#include "runtime/process.h"
#include "runtime/secret_file.h"

namespace rampart::cluster {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;


std::string absoluteDir(const std::string& dir) {
  std::error_code ec;
  auto p = fs::absolute(dir, ec).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') {
    p.pop_back();
  }
  return p;
}

Result<UpReport> up(const UpOptions& options) {
  auto started_at = std::chrono::steady_clock::now();
  if (::geteuid() != 0) {
    return fail(ErrorCode::PermissionDenied,
                "rampart up needs root: every node is a network namespace, and agents make "
                "cgroups and pod networks");
  }
  std::string dir = absoluteDir(options.dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return fail(ErrorCode::InvalidArgument, "--dir ", dir, ": ", ec.message());
  }
  ::chmod(dir.c_str(), 0755);  // pods running as other users read their volumes below it
  auto lock = DirLock::take(dir);
  if (!lock) {
    return fail(lock.error());
  }
  UpReport report;
  auto loaded = loadState(dir);
  if (loaded) {
    report.restarted = true;
    say(options.progress, "bringing back cluster " + loaded->name + " from " + dir + " (" +
                              std::to_string(loaded->nodes.size()) + " nodes)");
  } else if (loaded.error().code != ErrorCode::NotFound) {
    return fail(loaded.error());
  } else {
    if (auto r = validateSpec(options.spec); !r) {
      return fail(r.error());
    }
    ClusterState fresh;
    fresh.name = options.spec.name;
    fresh.zones = options.spec.zones;
    fresh.created = nowRfc3339();
    for (const auto& spec : planNodes(options.spec)) {
      fresh.nodes.push_back(NodeState{spec, {}});
      fresh.max_ordinal = std::max(fresh.max_ordinal, spec.ordinal);
    }
    // A namespace of that name belongs to another cluster of the same name: refuse rather than
    // share (or later delete) it.
    for (const auto& n : listNetns()) {
      if (n == hubNamespace(fresh.name) || fresh.find(n)) {
        return fail(ErrorCode::AlreadyExists, "network namespace ", n,
                    " exists: another cluster named '", fresh.name,
                    "' runs on this machine (give --name, or `rampart down` it)");
      }
    }
    auto port = freeLoopbackPort();
    if (!port) {
      return fail(port.error());
    }
    fresh.gateway_port = *port;
    say(options.progress, "creating cluster " + fresh.name + " in " + dir + ": " +
                              std::to_string(options.spec.masters) + " masters, " +
                              std::to_string(options.spec.workers) + " workers, zones " +
                              [&] {
                                std::string z;
                                for (const auto& s : fresh.zones) {
                                  z += (z.empty() ? "" : ",") + s;
                                }
                                return z;
                              }());
    loaded = std::move(fresh);
  }
  ClusterState& state = *loaded;
  // The journal first: from here on `rampart down` finds whatever gets made.
  if (auto r = saveState(dir, state); !r) {
    return fail(r.error());
  }

  auto tokens = ensureClusterCredentials(dir);
  if (!tokens) {
    return fail(tokens.error());
  }
  for (const auto& n : state.nodes) {
    if (n.spec.role == Role::Master) {
      if (auto r = ensureServerCertificate(dir, n.spec); !r) {
        return fail(r.error());
      }
      if (auto r = ensureEtcdCertificates(dir, n.spec); !r) {
        return fail(r.error());
      }
    }
    if (auto r = ensureNodeCertificate(dir, n.spec); !r) {
      return fail(r.error());
    }
  }
  if (auto r = writeKubeconfigs(dir, state, *tokens); !r) {
    return fail(r.error());
  }
  if (auto r = writeBalancerConfigs(dir, state); !r) {
    return fail(r.error());
  }
  say(options.progress, "  credentials: CA, API server certificates, tokens, kubeconfigs");

  if (auto r = createHub(state.name); !r) {
    return fail(r.error());
  }
  for (const auto& n : state.nodes) {
    if (auto r = createNodeNetwork(state.name, n.spec); !r) {
      return fail(r.error());
    }
  }
  say(options.progress, "  network: hub " + hubNamespace(state.name) + " (" + kLabSubnet + "), " +
                            std::to_string(state.nodes.size()) + " node namespaces");

  // The gateway's socket is made here, on the host's loopback, before this process moves into
  // the hub: a socket keeps the namespace it was made in.
  int gateway_fd = -1;
  if (!ours(state.gateway_pid, dir)) {
    auto fd = loopbackListener(state.gateway_port);
    if (!fd) {
      return fail(fd.error());
    }
    gateway_fd = *fd;
  }
  if (auto r = enterNetns(hubNamespace(state.name)); !r) {
    if (gateway_fd >= 0) {
      ::close(gateway_fd);
    }
    return fail(r.error());
  }

  auto record = [&](NodeState& node, const ProcessPlan& plan) -> Result<bool> {
    auto known = node.pids.find(plan.kind);
    if (known != node.pids.end() && ours(known->second, dir)) {
      return false;
    }
    auto pid = startProcess(plan);
    if (!pid) {
      return fail(ErrorCode::Unavailable, node.spec.name, ": ", plan.kind, ": ",
                  pid.error().message);
    }
    node.pids[plan.kind] = *pid;
    ++report.started;
    if (auto r = saveState(dir, state); !r) {
      return fail(r.error());
    }
    return true;
  };
  std::string binary = options.binary;
  EtcdBootstrap etcd{etcdInitialCluster(state.masters()), false};
  auto plansOf = [&](const NodeState& n) { return nodeProcesses(dir, binary, state, n, etcd); };
  // Phase by phase, so each waits only for what it needs: every etcd member before any API
  // server, the API servers before the components that use them.
  for (const char* kind : {kEtcd, kServer, kVip}) {
    std::vector<const NodeState*> started;
    for (auto& n : state.nodes) {
      for (const auto& plan : plansOf(n)) {
        if (plan.kind == kind) {
          auto fresh = record(n, plan);
          if (!fresh) {
            return fail(fresh.error());
          }
          started.push_back(&n);
        }
      }
    }
    for (const auto* n : started) {
      const std::string log = nodeDir(dir, n->spec.name) + "/" + kind + ".log";
      Result<void> r = ok();
      if (std::string(kind) == kEtcd) {
        r = lab::EtcdCluster::waitHealthy({nodeAddress(n->spec.ordinal), kEtcdClientPort, true},
                                          30s, etcdClientTls(dir));
      } else if (std::string(kind) == kServer) {
        r = waitApiReady(dir, n->spec, 30s);
      } else {
        r = waitVipServing(n->spec, 10s);
      }
      if (!r) {
        return fail(r.error().code, r.error().message, "\n--- ", log, " (tail) ---\n",
                    tail(log, 1500));
      }
    }
    say(options.progress, std::string("  ") + kind + ": " + std::to_string(started.size()) +
                              " ready");
  }
  // Agents before controllers: on a restart every node's Lease is old, and a controller that
  // takes the lead starts each node's grace period (1 s) when it first sees it; agents already
  // renewing by then keep their pods where they are instead of racing that grace.
  for (const char* kind : {kAgent, kController}) {
    for (auto& n : state.nodes) {
      for (const auto& plan : plansOf(n)) {
        if (plan.kind == kind) {
          if (auto r = record(n, plan); !r) {
            return fail(r.error());
          }
        }
      }
    }
  }
  if (gateway_fd >= 0) {
    auto pid = startProcess(gatewayProcess(dir, binary, state), {gateway_fd});
    ::close(gateway_fd);
    if (!pid) {
      return fail(ErrorCode::Unavailable, "kubectl gateway: ", pid.error().message);
    }
    state.gateway_pid = *pid;
    ++report.started;
    if (auto r = saveState(dir, state); !r) {
      return fail(r.error());
    }
  }
  say(options.progress, "  started " + std::to_string(report.started) +
                            " processes; waiting for the nodes");
  auto last_start = std::chrono::steady_clock::now();
  if (auto r = waitNodesReady(dir, state, tokens->admin, options.ready_timeout, options.progress);
      !r) {
    return fail(r.error());
  }
  auto now = std::chrono::steady_clock::now();
  report.ready_after_start = now - last_start;
  report.took = now - started_at;
  say(options.progress, "  all " + std::to_string(state.nodes.size()) + " nodes Ready (" +
                            seconds(report.ready_after_start) + " after the last start, " +
                            seconds(report.took) + " in all)");
  report.state = state;
  return report;
}

Result<void> down(const DownOptions& options) {
  if (::geteuid() != 0) {
    return fail(ErrorCode::PermissionDenied, "rampart down needs root");
  }
  std::string dir = absoluteDir(options.dir);
  auto state = loadState(dir);
  if (!state) {
    return fail(state.error());
  }
  auto lock = DirLock::take(dir);
  if (!lock) {
    return fail(lock.error());
  }
  say(options.progress, "stopping cluster " + state->name + " (" + dir + ")");
  // The gateway first, so kubectl sees the cluster go at once rather than half of it.
  endNamespaceProcesses(hubNamespace(state->name), {state->gateway_pid}, dir, 2s);
  for (const auto& n : state->nodes) {
    if (auto r = tearDownNode(dir, state->name, n, options.progress); !r) {
      return r;
    }
  }
  if (auto r = removeHub(state->name); !r) {
    return r;
  }
  for (auto& n : state->nodes) {
    n.pids.clear();
  }
  state->gateway_pid = 0;
  if (options.purge) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) {
      return fail(ErrorCode::Unavailable, "remove ", dir, ": ", ec.message());
    }
    say(options.progress, "  removed " + dir);
  } else if (auto r = saveState(dir, *state); !r) {
    return r;
  }
  say(options.progress, "  network namespaces, links, pods and cgroups removed");
  return ok();
}

}  // namespace rampart::cluster

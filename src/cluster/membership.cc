// `rampart node add` and `rampart node remove` (up.h): a node joins or leaves a running cluster.
//
// Adding a master: the new etcd member is announced to the cluster first (member add, through
// a running master's member), then started with the existing members as its initial cluster;
// only once it is healthy do its API server, VIP balancer, controller and agent start, and then
// every balancer (each node's VIP, the gateway) is told of the new API server (SIGHUP reload).
// Removing a node: cordon, drain through the Eviction API (disruption budgets honoured: a 429
// is retried until the drain timeout), then for a master: the balancers stop sending to it, its
// etcd member is removed while a majority still runs; then its processes, pods and namespace go
// and its Node object is deleted.

#include <signal.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/credentials.h"
#include "cluster/http_call.h"
#include "cluster/lab_network.h"
#include "cluster/node_ops.h"
#include "cluster/processes.h"
#include "cluster/up.h"
#include "lab/etcd_cluster.h"
#include "runtime/process.h"

namespace rampart::cluster {
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A call to etcd's JSON gateway at the first member (other than `skip`) that answers.
Result<json> etcdCall(const std::string& dir, const ClusterState& state, const std::string& path,
                      const json& body, const std::string& skip = "") {
  HttpCall call;
  call.tls = etcdClientTls(dir);
  call.method = "POST";
  call.path = path;
  call.body = body.dump();
  call.timeout = 3s;
  std::string last = "no member";
  for (const auto* m : state.masters()) {
    if (m->spec.name == skip) {
      continue;
    }
    auto r = httpCall({nodeAddress(m->spec.ordinal), kEtcdClientPort, true}, call);
    if (r && r->status == 200) {
      json answer = json::parse(r->body, nullptr, false);
      if (answer.is_object()) {
        return answer;
      }
      last = "not JSON";
    } else {
      last = r ? "HTTP " + std::to_string(r->status) + " " + r->body : r.error().message;
    }
  }
  return fail(ErrorCode::Unavailable, "etcd ", path, ": ", last);
}

// Tells every running balancer (each node's VIP, the gateway) to read its config again.
void reloadBalancers(const std::string& dir, const ClusterState& state) {
  for (const auto& n : state.nodes) {
    auto it = n.pids.find(kVip);
    if (it != n.pids.end() && ours(it->second, dir)) {
      ::kill(it->second, SIGHUP);
    }
  }
  if (ours(state.gateway_pid, dir)) {
    ::kill(state.gateway_pid, SIGHUP);
  }
}

// A running cluster to change: its journal, held against other commands, and its tokens.
struct OpenCluster {
  ClusterState state;
  DirLock lock;
  Tokens tokens;
};

Result<OpenCluster> openCluster(const std::string& dir) {
  auto state = loadState(dir);
  if (!state) {
    return fail(state.error());
  }
  auto lock = DirLock::take(dir);
  if (!lock) {
    return fail(lock.error());
  }
  auto tokens = readTokens(dir);
  if (!tokens) {
    return fail(tokens.error());
  }
  return OpenCluster{std::move(*state), std::move(*lock), std::move(*tokens)};
}

// A master announced to etcd whose own member did not come up: the cluster now counts a member
// that is down (4 members, quorum 3: one more loss would stop etcd). Its member is removed again
// through the others, which still have their quorum (3 of 4 up), its process stopped, and the node
// taken back out of the journal, the balancers' configs and the lab network, so the cluster is as
// it was before `node add`.
Result<NodeSpec> failAnnouncedMaster(const std::string& dir, ClusterState& state,
                                     const NodeSpec& spec, const std::string& member_id,
                                     const ProcessPlan& plan, const Error& why) {
  auto& node = state.nodes.back();
  for (const auto& [kind, pid] : node.pids) {
    if (ours(pid, dir)) {
      ::kill(pid, SIGKILL);
      (void)runtime::waitExit(pid, 5s);
    }
  }
  auto removed = etcdCall(dir, state, "/v3/cluster/member/remove", json{{"ID", member_id}},
                          spec.name);
  std::string log_tail = tail(plan.log_file, 1500);
  if (!removed) {
    // Left in the journal: `rampart node remove` can finish the job once etcd answers.
    return fail(ErrorCode::Unavailable, spec.name, ": its etcd member did not become healthy (",
                why.message, ") and could not be removed again: ", removed.error().message,
                "; run `rampart node remove --dir ", dir, " ", spec.name, "`\n--- ",
                plan.log_file, " (tail) ---\n", log_tail);
  }
  state.nodes.pop_back();
  (void)saveState(dir, state);
  (void)writeBalancerConfigs(dir, state);
  (void)removeNodeNetwork(state.name, spec);
  return fail(ErrorCode::Unavailable, spec.name, ": its etcd member did not become healthy (",
              why.message, "); it was removed from etcd again and nothing else changed\n--- ",
              plan.log_file, " (tail) ---\n", log_tail);
}

}  // namespace

Result<NodeSpec> addNode(const NodeAddOptions& options) {
  std::string dir = absoluteDir(options.dir);
  auto open = openCluster(dir);
  if (!open) {
    return fail(open.error());
  }
  ClusterState& state = open->state;
  const Tokens* tokens = &open->tokens;
  auto spec = nextNode(state.name, state.specs(), state.max_ordinal, options.role, options.zone,
                       state.zones);
  if (!spec) {
    return fail(spec.error());
  }
  if (std::find(state.zones.begin(), state.zones.end(), spec->zone) == state.zones.end()) {
    state.zones.push_back(spec->zone);
  }
  state.nodes.push_back(NodeState{*spec, {}});
  state.max_ordinal = spec->ordinal;
  if (auto r = saveState(dir, state); !r) {  // the journal first, as for up
    return fail(r.error());
  }
  say(options.progress, "adding " + std::string(roleName(spec->role)) + " " + spec->name +
                            " in zone " + spec->zone + " (" + nodeAddress(spec->ordinal) + ")");
  if (spec->role == Role::Master) {
    if (auto r = ensureServerCertificate(dir, *spec); !r) {
      return fail(r.error());
    }
    if (auto r = ensureEtcdCertificates(dir, *spec); !r) {
      return fail(r.error());
    }
  }
  if (auto r = ensureNodeCertificate(dir, *spec); !r) {
    return fail(r.error());
  }
  if (auto r = writeKubeconfigs(dir, state, *tokens); !r) {
    return fail(r.error());
  }
  if (auto r = createNodeNetwork(state.name, *spec); !r) {
    return fail(r.error());
  }
  if (auto r = enterNetns(hubNamespace(state.name)); !r) {
    return fail(r.error());
  }
  NodeState& node = state.nodes.back();
  EtcdBootstrap etcd;
  std::string announced_id;  // the new etcd member's ID once announced
  if (spec->role == Role::Master) {
    std::string peer =
        "https://" + nodeAddress(spec->ordinal) + ":" + std::to_string(kEtcdPeerPort);
    ClusterState old = state;
    old.nodes.pop_back();
    // etcd refuses a member while the last one to join is not yet fully connected (its
    // strict reconfiguration check: "unhealthy cluster"): retry for a while.
    auto until = std::chrono::steady_clock::now() + 30s;
    auto added = etcdCall(dir, old, "/v3/cluster/member/add", json{{"peerURLs", {peer}}});
    while (!added && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(500ms);
      added = etcdCall(dir, old, "/v3/cluster/member/add", json{{"peerURLs", {peer}}});
    }
    if (!added) {
      // Nothing was announced: the node is taken back out, so the cluster is as it was.
      state.nodes.pop_back();
      (void)saveState(dir, state);
      (void)removeNodeNetwork(state.name, *spec);
      return fail(ErrorCode::Unavailable, "announce the new etcd member (nothing changed): ",
                  added.error().message);
    }
    const auto& member = (*added)["member"];
    if (member.is_object() && member.contains("ID")) {
      announced_id = member["ID"].is_string() ? member["ID"].get<std::string>()
                                              : member["ID"].dump();
    }
    // Every master's member, the new one included (pointers taken after the push_back above).
    etcd = {etcdInitialCluster(state.masters()), true};
    say(options.progress, "  etcd: member " + spec->name + " announced");
  }
  // The balancers' configs: a new master is a new API server behind every VIP.
  if (auto r = writeBalancerConfigs(dir, state); !r) {
    return fail(r.error());
  }
  for (const auto& plan : nodeProcesses(dir, options.binary, state, node, etcd)) {
    auto pid = startProcess(plan);
    if (!pid) {
      return fail(ErrorCode::Unavailable, spec->name, ": ", plan.kind, ": ", pid.error().message);
    }
    node.pids[plan.kind] = *pid;
    if (auto r = saveState(dir, state); !r) {
      return fail(r.error());
    }
    Result<void> ready = ok();
    if (plan.kind == kEtcd) {
      // Asked every second while the process lives: an etcd that exits at once (a bad data
      // directory, a refused join) is known as failed at once, not after the whole 30 s.
      auto until = std::chrono::steady_clock::now() + 30s;
      do {
        ready = lab::EtcdCluster::waitHealthy({nodeAddress(spec->ordinal), kEtcdClientPort, true},
                                              1s, etcdClientTls(dir));
      } while (!ready && runtime::isAlive(*pid) && std::chrono::steady_clock::now() < until);
      if (!ready && !announced_id.empty()) {
        return failAnnouncedMaster(dir, state, *spec, announced_id, plan, ready.error());
      }
    } else if (plan.kind == kServer) {
      ready = waitApiReady(dir, *spec, 30s);
    } else if (plan.kind == kVip) {
      ready = waitVipServing(*spec, 10s);
    }
    if (!ready) {
      return fail(ready.error().code, ready.error().message, "\n--- ", plan.log_file,
                  " (tail) ---\n", tail(plan.log_file, 1500));
    }
  }
  if (spec->role == Role::Master) {
    reloadBalancers(dir, state);
  }
  if (auto r = waitNodesReady(dir, state, tokens->admin, options.ready_timeout, nullptr,
                              {spec->name});
      !r) {
    return fail(r.error());
  }
  say(options.progress, "  " + spec->name + " is Ready");
  return *spec;
}

Result<void> removeNode(const NodeRemoveOptions& options) {
  std::string dir = absoluteDir(options.dir);
  auto open = openCluster(dir);
  if (!open) {
    return fail(open.error());
  }
  ClusterState& state = open->state;
  const Tokens* tokens = &open->tokens;
  const NodeState* found = state.find(options.node);
  if (!found) {
    return fail(ErrorCode::NotFound, "no node ", options.node, " in cluster ", state.name);
  }
  NodeState node = *found;
  bool master = node.spec.role == Role::Master;
  if (master && state.masters().size() <= 1) {
    return fail(ErrorCode::FailedPrecondition, options.node,
                " is the last master: the cluster would have no API and no etcd");
  }
  if (auto r = enterNetns(hubNamespace(state.name)); !r) {
    return fail(r.error());
  }
  say(options.progress, "removing " + std::string(roleName(node.spec.role)) + " " +
                            node.spec.name);
  if (auto r = drainNode(dir, state, tokens->admin, node.spec.name, options.drain_timeout,
                     options.progress);
      !r) {
    return r;
  }
  ClusterState after = state;
  after.nodes.erase(std::remove_if(after.nodes.begin(), after.nodes.end(),
                                   [&](const NodeState& n) { return n.spec.name == node.spec.name; }),
                    after.nodes.end());
  if (master) {
    // No new connection goes to its API server from here on.
    if (auto r = writeBalancerConfigs(dir, after); !r) {
      return r;
    }
    reloadBalancers(dir, after);
    auto members = etcdCall(dir, state, "/v3/cluster/member/list", json::object(), node.spec.name);
    if (!members) {
      return fail(members.error());
    }
    std::string id;
    for (const auto& m : (*members)["members"]) {
      if (m.value("name", "") == node.spec.name) {
        id = m["ID"].is_string() ? m["ID"].get<std::string>() : m["ID"].dump();
      }
    }
    if (!id.empty()) {
      auto removed = etcdCall(dir, state, "/v3/cluster/member/remove", json{{"ID", id}},
                              node.spec.name);
      if (!removed) {
        return fail(ErrorCode::Unavailable, "remove etcd member ", node.spec.name, ": ",
                    removed.error().message);
      }
      say(options.progress, "  etcd: member " + node.spec.name + " removed");
    }
  }
  if (auto r = tearDownNode(dir, state.name, node, options.progress); !r) {
    return r;
  }
  HttpCall del;
  del.method = "DELETE";
  del.path = "/api/v1/nodes/" + node.spec.name;
  auto deleted = apiCall(dir, after, tokens->admin, del);
  if (!deleted || (deleted->status != 200 && deleted->status != 404)) {
    return fail(ErrorCode::Unavailable, "delete Node ", node.spec.name, ": ",
                deleted ? "HTTP " + std::to_string(deleted->status) : deleted.error().message);
  }
  if (auto r = saveState(dir, after); !r) {
    return r;
  }
  say(options.progress, "  " + node.spec.name + " removed");
  return ok();
}

}  // namespace rampart::cluster

#include "cluster/status.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/credentials.h"
#include "cluster/http_call.h"
#include "cluster/lab_network.h"
#include "cluster/node_ops.h"
#include "cluster/up.h"
#include "runtime/process.h"

namespace rampart::cluster {
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

bool running(pid_t pid, const std::string& dir) {
  return pid > 0 && runtime::isAlive(pid) &&
         runtime::commandLine(pid).find(dir) != std::string::npos;
}

uint64_t number(const json& j) {
  if (j.is_number_unsigned()) {
    return j.get<uint64_t>();
  }
  if (j.is_string()) {
    try {
      return std::stoull(j.get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

// GET an API path from the first master that answers; its JSON object.
Result<json> apiGet(const std::string& dir, const ClusterState& state, const std::string& token,
                    const std::string& path) {
  HttpCall call;
  call.path = path;
  call.timeout = 1s;
  auto r = apiCall(dir, state, token, call);
  if (!r) {
    return fail(r.error());
  }
  json body = r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  if (!body.is_object()) {
    return fail(ErrorCode::Unavailable, path, ": HTTP ", std::to_string(r->status));
  }
  return body;
}

}  // namespace

namespace {

Result<StatusReport> collectInHub(const std::string& dir_arg) {
  std::string dir = absoluteDir(dir_arg);
  auto state = loadState(dir);
  if (!state) {
    return fail(state.error());
  }
  StatusReport report;
  report.name = state->name;
  report.dir = dir;
  report.gateway_port = state->gateway_port;
  report.gateway_running = running(state->gateway_pid, dir);
  std::string hub = hubNamespace(state->name);
  bool inside = false;
  if (netnsExists(hub)) {
    int fd = ::open(netnsPath(hub).c_str(), O_RDONLY | O_CLOEXEC);
    inside = fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) {
      ::close(fd);
    }
  }
  std::string unreachable = inside ? "" : "the lab network is down (no namespace " + hub + ")";

  std::map<std::string, std::string> ready;
  auto tokens = readTokens(dir);
  std::string token = tokens ? tokens->admin : "";
  if (inside) {
    if (auto nodes = apiGet(dir, *state, token, "/api/v1/nodes"); nodes) {
      for (const auto& item : (*nodes)["items"]) {
        if (!item.is_object() || !item["metadata"].is_object()) {
          continue;
        }
        std::string name = item["metadata"].value("name", "");
        if (item.contains("status") && item["status"].contains("conditions")) {
          for (const auto& c : item["status"]["conditions"]) {
            if (c.is_object() && c.value("type", "") == "Ready") {
              ready[name] = c.value("status", "Unknown");
            }
          }
        }
      }
    }
    if (auto lease = apiGet(dir, *state, token,
                            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
                            "rampart-controller");
        lease && (*lease)["spec"].is_object()) {
      report.controller = (*lease)["spec"].value("holderIdentity", "");
    }
  }
  for (const auto& n : state->nodes) {
    NodeStatus s;
    s.name = n.spec.name;
    s.role = std::string(roleName(n.spec.role));
    s.zone = n.spec.zone;
    s.address = nodeAddress(n.spec.ordinal);
    if (auto it = ready.find(n.spec.name); it != ready.end()) {
      s.ready = it->second;
    }
    for (const auto& [kind, pid] : n.pids) {
      s.processes[kind] = running(pid, dir);
    }
    report.nodes.push_back(s);

    if (n.spec.role == Role::Master) {
      EtcdStatus e;
      e.node = n.spec.name;
      ApiStatus a;
      a.node = n.spec.name;
      if (!inside) {
        e.error = a.error = unreachable;
      } else {
        HttpCall call;
        call.method = "POST";
        call.path = "/v3/maintenance/status";
        call.body = "{}";
        call.timeout = 1s;
        call.tls = etcdClientTls(dir);
        auto r = httpCall({nodeAddress(n.spec.ordinal), kEtcdClientPort, true}, call);
        json body = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
        if (body.is_object() && body["header"].is_object()) {
          e.healthy = true;
          e.raft_term = number(body["header"]["raft_term"]);
          e.raft_index = number(body["raftIndex"]);
          e.leader = number(body["header"]["member_id"]) == number(body["leader"]) &&
                     number(body["leader"]) != 0;
        } else {
          e.error = r ? "HTTP " + std::to_string(r->status) : r.error().message;
        }
        HttpCall readyz;
        readyz.path = "/readyz";
        readyz.tls.ca = caFile(dir);
        readyz.timeout = 1s;
        auto api = httpCall({nodeAddress(n.spec.ordinal), kApiPort, true}, readyz);
        a.ready = api && api->status == 200;
        if (!a.ready) {
          a.error = api ? "HTTP " + std::to_string(api->status) : api.error().message;
        }
      }
      report.etcd.push_back(e);
      report.api.push_back(a);
    }

    VipStatus v;
    v.node = n.spec.name;
    if (!inside) {
      v.error = unreachable;
    } else {
      HttpCall call;
      call.path = "/status";
      call.timeout = 1s;
      auto r = httpCall({nodeAddress(n.spec.ordinal), kVipAdminPort}, call);
      json body = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
      if (body.is_object() && body["virtual_servers"].is_array()) {
        for (const auto& vs : body["virtual_servers"]) {
          for (const auto& b : vs["backends"]) {
            v.backends.push_back({b.value("address", ""), b.value("state", "")});
          }
        }
      } else {
        v.error = r ? "HTTP " + std::to_string(r->status) : r.error().message;
      }
    }
    report.vip.push_back(v);
  }
  return report;
}

}  // namespace

Result<StatusReport> collectStatus(const std::string& dir) {
  // A thread of its own moves into the hub, so the caller's thread stays in its namespace.
  Result<StatusReport> report = fail(ErrorCode::Internal, "status: not collected");
  std::thread worker([&] { report = collectInHub(dir); });
  worker.join();
  return report;
}

bool healthy(const StatusReport& report) {
  int leaders = 0;
  for (const auto& e : report.etcd) {
    if (!e.healthy) {
      return false;
    }
    leaders += e.leader ? 1 : 0;
  }
  if (leaders != 1 || report.controller.empty()) {
    return false;
  }
  for (const auto& n : report.nodes) {
    if (n.ready != "True") {
      return false;
    }
  }
  for (const auto& a : report.api) {
    if (!a.ready) {
      return false;
    }
  }
  for (const auto& v : report.vip) {
    if (!v.error.empty() || v.backends.size() != report.api.size()) {
      return false;
    }
    for (const auto& b : v.backends) {
      if (b.state != "UP") {
        return false;
      }
    }
  }
  return true;
}

std::string statusJson(const StatusReport& r) {
  json nodes = json::array();
  for (const auto& n : r.nodes) {
    nodes.push_back({{"name", n.name},
                     {"role", n.role},
                     {"zone", n.zone},
                     {"address", n.address},
                     {"ready", n.ready},
                     {"processes", n.processes}});
  }
  json etcd = json::array();
  for (const auto& e : r.etcd) {
    etcd.push_back({{"node", e.node},
                    {"healthy", e.healthy},
                    {"leader", e.leader},
                    {"raft_term", e.raft_term},
                    {"raft_index", e.raft_index},
                    {"error", e.error}});
  }
  json api = json::array();
  for (const auto& a : r.api) {
    api.push_back({{"node", a.node}, {"ready", a.ready}, {"error", a.error}});
  }
  json vip = json::array();
  for (const auto& v : r.vip) {
    json backends = json::array();
    for (const auto& b : v.backends) {
      backends.push_back({{"address", b.address}, {"state", b.state}});
    }
    vip.push_back({{"node", v.node}, {"backends", backends}, {"error", v.error}});
  }
  json doc = {{"name", r.name},
              {"dir", r.dir},
              {"gateway", {{"address", "127.0.0.1:" + std::to_string(r.gateway_port)},
                           {"running", r.gateway_running}}},
              {"healthy", healthy(r)},
              {"nodes", nodes},
              {"etcd", etcd},
              {"api_servers", api},
              {"controller", r.controller},
              {"vip", vip}};
  return doc.dump(2);
}

std::string statusTable(const StatusReport& r) {
  std::ostringstream out;
  char line[256];
  out << "CLUSTER " << r.name << " (" << r.dir << ")  kubectl gateway 127.0.0.1:"
      << r.gateway_port << (r.gateway_running ? "" : " (NOT RUNNING)") << "\n\n";
  std::snprintf(line, sizeof line, "%-16s %-7s %-6s %-14s %-8s %s\n", "NODE", "ROLE", "ZONE",
                "ADDRESS", "READY", "PROCESSES");
  out << line;
  for (const auto& n : r.nodes) {
    std::string procs;
    for (const auto& [kind, up] : n.processes) {
      procs += (procs.empty() ? "" : " ") + kind + (up ? "" : "(down)");
    }
    std::snprintf(line, sizeof line, "%-16s %-7s %-6s %-14s %-8s %s\n", n.name.c_str(),
                  n.role.c_str(), n.zone.c_str(), n.address.c_str(), n.ready.c_str(),
                  procs.c_str());
    out << line;
  }
  out << "\n";
  std::snprintf(line, sizeof line, "%-16s %-8s %-7s %-6s %-10s %s\n", "ETCD MEMBER", "HEALTHY",
                "LEADER", "TERM", "RAFT INDEX", "ERROR");
  out << line;
  for (const auto& e : r.etcd) {
    std::snprintf(line, sizeof line, "%-16s %-8s %-7s %-6llu %-10llu %s\n", e.node.c_str(),
                  e.healthy ? "yes" : "no", e.leader ? "*" : "",
                  static_cast<unsigned long long>(e.raft_term),
                  static_cast<unsigned long long>(e.raft_index), e.error.c_str());
    out << line;
  }
  out << "\n";
  std::snprintf(line, sizeof line, "%-16s %-8s %s\n", "API SERVER", "READY", "ERROR");
  out << line;
  for (const auto& a : r.api) {
    std::snprintf(line, sizeof line, "%-16s %-8s %s\n", a.node.c_str(), a.ready ? "yes" : "no",
                  a.error.c_str());
    out << line;
  }
  out << "\nACTING CONTROLLER  " << (r.controller.empty() ? "(none)" : r.controller) << "\n\n";
  std::snprintf(line, sizeof line, "%-16s %s\n", "VIP ON NODE", "API SERVERS (as its balancer sees them)");
  out << line;
  for (const auto& v : r.vip) {
    std::string view = v.error;
    for (const auto& b : v.backends) {
      view += (view.empty() ? "" : "  ") + b.address + " " + b.state;
    }
    std::snprintf(line, sizeof line, "%-16s %s\n", v.node.c_str(), view.c_str());
    out << line;
  }
  out << "\n" << (healthy(r) ? "healthy" : "NOT healthy") << "\n";
  return out.str();
}

}  // namespace rampart::cluster

#include "cluster/node_ops.h"

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

void say(const Progress& progress, const std::string& line) {
  if (progress) {
    progress(line);
  }
}

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string seconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s",
                std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0);
  return buf;
}

Result<DirLock> DirLock::take(const std::string& dir) {
  std::string path = dir + "/.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fail(ErrorCode::Unavailable, "open ", path, ": ", std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return fail(ErrorCode::FailedPrecondition, "another rampart command is working on ", dir,
                " (", path, " is locked)");
  }
  DirLock lock;
  lock.fd_ = fd;
  return lock;
}

DirLock::~DirLock() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

// A recorded PID still names a process of this cluster: alive, and its command line names the
// cluster's directory (every process's config, data or log path is under it), so a recycled PID
// is never taken for ours.
bool ours(pid_t pid, const std::string& dir) {
  return pid > 0 && runtime::isAlive(pid) &&
         runtime::commandLine(pid).find(dir) != std::string::npos;
}

// From here on this process speaks from inside the hub (the lab network's side of the bridge).
// The calling thread only: call before any other thread exists.
Result<void> enterNetns(const std::string& name) {
  int fd = ::open(netnsPath(name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(ErrorCode::Unavailable, "open ", netnsPath(name), ": ", std::strerror(errno));
  }
  int r = ::setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (r != 0) {
    return fail(ErrorCode::PermissionDenied, "enter network namespace ", name, ": ",
                std::strerror(err));
  }
  return ok();
}

Result<int> loopbackListener(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(ErrorCode::Internal, "socket: ", std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1024) != 0) {
    int err = errno;
    ::close(fd);
    return fail(ErrorCode::Unavailable, "the kubectl gateway cannot listen on 127.0.0.1:", std::to_string(port),
                ": ", std::strerror(err));
  }
  return fd;
}

Result<uint16_t> freeLoopbackPort() {
  auto fd = loopbackListener(0);
  if (!fd) {
    return fail(fd.error());
  }
  sockaddr_in addr{};
  socklen_t length = sizeof addr;
  ::getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(*fd);
  return ntohs(addr.sin_port);
}

Result<void> writeFile(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) {
      return fail(ErrorCode::Unavailable, "write ", tmp);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(ErrorCode::Unavailable, "write ", path, ": ", std::strerror(errno));
  }
  return ok();
}

Result<void> writeBalancerConfigs(const std::string& dir, const ClusterState& state) {
  for (const auto& n : state.nodes) {
    if (auto r = writeFile(vipConfigFile(dir, n.spec.name), vipConfig(state, n.spec)); !r) {
      return r;
    }
  }
  return writeFile(gatewayConfigFile(dir), gatewayConfig(state));
}

std::string tail(const std::string& path, size_t bytes) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

Result<pid_t> startProcess(const ProcessPlan& plan, const std::vector<int>& listen_fds) {
  runtime::SpawnOptions spawn;
  spawn.argv = plan.argv;
  spawn.log_file = plan.log_file;
  spawn.netns = netnsPath(plan.netns);
  spawn.die_with_parent = false;  // the cluster outlives the command
  spawn.new_session = true;
  spawn.listen_fds = listen_fds;
  return runtime::spawn(spawn);
}

net::Endpoint apiEndpoint(const NodeSpec& node) {
  return net::Endpoint{nodeAddress(node.ordinal), kApiPort, true};
}

Result<void> waitApiReady(const std::string& dir, const NodeSpec& node, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  HttpCall call;
  call.path = "/readyz";
  call.tls.ca = caFile(dir);
  call.timeout = 1s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = httpCall(apiEndpoint(node), call);
    if (r && r->status == 200) {
      return ok();
    }
    last = r ? "HTTP " + std::to_string(r->status) : r.error().message;
    std::this_thread::sleep_for(50ms);
  }
  return fail(ErrorCode::DeadlineExceeded, "the API server of ", node.name, " is not ready after ",
              seconds(timeout), ": ", last);
}

// The node's VIP balancer has applied its config (the VIP is on the node's loopback and
// listened on) once its admin server answers /status.
Result<void> waitVipServing(const NodeSpec& node, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  HttpCall call;
  call.path = "/status";
  call.timeout = 500ms;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = httpCall({nodeAddress(node.ordinal), kVipAdminPort}, call);
    if (r && r->status == 200) {
      return ok();
    }
    last = r ? "HTTP " + std::to_string(r->status) : r.error().message;
    std::this_thread::sleep_for(20ms);
  }
  return fail(ErrorCode::DeadlineExceeded, "the API VIP balancer of ", node.name,
              " is not serving after ", seconds(timeout), ": ", last);
}

// Nodes (by name) whose Ready condition is True, as the API says; an error when no master
// answers.
Result<std::set<std::string>> readyNodes(const std::string& dir, const ClusterState& state,
                                         const std::string& token) {
  HttpCall call;
  call.path = "/api/v1/nodes";
  call.tls.ca = caFile(dir);
  call.bearer = token;
  call.timeout = 2s;
  std::string last = "no master";
  for (const auto* m : state.masters()) {
    auto r = httpCall(apiEndpoint(m->spec), call);
    if (!r || r->status != 200) {
      last = r ? "HTTP " + std::to_string(r->status) : r.error().message;
      continue;
    }
    json list = json::parse(r->body, nullptr, false);
    if (!list.is_object() || !list["items"].is_array()) {
      last = "not a NodeList";
      continue;
    }
    std::set<std::string> ready;
    for (const auto& item : list["items"]) {
      const auto* conditions = item.contains("status") && item["status"].is_object() &&
                                       item["status"].contains("conditions")
                                   ? &item["status"]["conditions"]
                                   : nullptr;
      if (!conditions || !conditions->is_array()) {
        continue;
      }
      for (const auto& c : *conditions) {
        if (c.is_object() && c.value("type", "") == "Ready" && c.value("status", "") == "True" &&
            item["metadata"].is_object() && item["metadata"]["name"].is_string()) {
          ready.insert(item["metadata"]["name"].get<std::string>());
        }
      }
    }
    return ready;
  }
  return fail(ErrorCode::Unavailable, "no API server answered: ", last);
}

Result<void> waitNodesReady(const std::string& dir, const ClusterState& state,
                            const std::string& token, Duration timeout, const Progress& progress,
                            const std::vector<std::string>& only) {
  std::vector<std::string> names = only;
  if (names.empty()) {
    for (const auto& n : state.nodes) {
      names.push_back(n.spec.name);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t reported = 0;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ready = readyNodes(dir, state, token);
    if (ready) {
      size_t count = 0;
      std::vector<std::string> missing;
      for (const auto& name : names) {
        if (ready->count(name)) {
          ++count;
        } else {
          missing.push_back(name);
        }
      }
      if (count == names.size()) {
        return ok();
      }
      if (count != reported) {
        say(progress, "  " + std::to_string(count) + "/" + std::to_string(names.size()) +
                          " nodes Ready");
        reported = count;
      }
      last = "not Ready: ";
      for (const auto& m : missing) {
        last += m + " ";
      }
    } else {
      last = ready.error().message;
    }
    std::this_thread::sleep_for(100ms);
  }
  return fail(ErrorCode::DeadlineExceeded, "not every node is Ready after ", seconds(timeout),
              " (", last, "); see the agents' logs under ", dir, "/nodes/<node>/agent.log");
}

// Ends the processes of one namespace: SIGTERM, then SIGKILL after `grace`. Every process in a
// namespace the cluster made is the cluster's (its components and what they started).
void endNamespaceProcesses(const std::string& netns, const std::vector<pid_t>& recorded,
                           const std::string& dir, Duration grace) {
  std::set<pid_t> pids;
  for (pid_t p : netnsPids(netns)) {
    pids.insert(p);
  }
  for (pid_t p : recorded) {
    if (ours(p, dir)) {
      pids.insert(p);
    }
  }
  for (pid_t p : pids) {
    ::kill(p, SIGCONT);  // a frozen process (chaos) cannot handle SIGTERM
    ::kill(p, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (pid_t p : pids) {
      any = any || runtime::isAlive(p);
    }
    if (!any) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  for (pid_t p : netnsPids(netns)) {
    pids.insert(p);
  }
  for (pid_t p : pids) {
    if (runtime::isAlive(p)) {
      ::kill(p, SIGKILL);
    }
  }
  for (pid_t p : pids) {
    runtime::waitExit(p, 2s);
  }
}

// Every process, pod and namespace of one node.
Result<void> tearDownNode(const std::string& dir, const std::string& cluster,
                          const NodeState& node, const Progress& progress) {
  std::vector<pid_t> recorded;
  for (const auto& [kind, pid] : node.pids) {
    recorded.push_back(pid);
  }
  endNamespaceProcesses(node.spec.name, recorded, dir, 3s);
  agent::runtime::killNodePods(node.spec.name);
  int pods = agent::runtime::removeNodePodNetworks(node.spec.name);
  if (auto r = removeNodeNetwork(cluster, node.spec); !r) {
    return r;
  }
  say(progress, "  " + node.spec.name + ": stopped" +
                    (pods ? ", " + std::to_string(pods) + " pod networks removed" : ""));
  return ok();
}


Result<net::http::Response> apiCall(const std::string& dir, const ClusterState& state,
                                const std::string& token, HttpCall call,
                                const std::string& skip) {
  call.tls.ca = caFile(dir);
  call.bearer = token;
  std::string last = "no master";
  for (const auto* m : state.masters()) {
    if (m->spec.name == skip) {
      continue;
    }
    auto r = httpCall(apiEndpoint(m->spec), call);
    if (r && r->status < 500) {
      return r;
    }
    last = r ? "HTTP " + std::to_string(r->status) : r.error().message;
  }
  return fail(ErrorCode::Unavailable, "no API server answered: ", last);
}

namespace {

// kubectl cordon / uncordon: spec.unschedulable true, or removed.
Result<void> setUnschedulable(const std::string& dir, const ClusterState& state,
                              const std::string& token, const std::string& node, bool cordon) {
  HttpCall call;
  call.method = "PATCH";
  call.path = "/api/v1/nodes/" + node;
  call.body = cordon ? R"({"spec":{"unschedulable":true}})" : R"({"spec":{"unschedulable":null}})";
  call.content_type = "application/merge-patch+json";
  auto r = apiCall(dir, state, token, call);
  if (!r || r->status != 200) {
    return fail(ErrorCode::Unavailable, cordon ? "cordon " : "uncordon ", node, ": ",
                r ? "HTTP " + std::to_string(r->status) + " " + r->body : r.error().message);
  }
  return ok();
}

}  // namespace

Result<void> drainNode(const std::string& dir, const ClusterState& state, const std::string& token,
                       const std::string& node, Duration timeout, const Progress& progress) {
  if (auto r = setUnschedulable(dir, state, token, node, true); !r) {
    return r;
  }
  say(progress, "  " + node + ": cordoned");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string waiting;
  while (true) {
    HttpCall list;
    list.path = "/api/v1/pods?fieldSelector=spec.nodeName%3D" + node;
    auto pods = apiCall(dir, state, token, list);
    json items = pods && pods->status == 200 ? json::parse(pods->body, nullptr, false)["items"]
                                             : json();
    if (!items.is_array()) {
      return fail(ErrorCode::Unavailable, "list the pods of ", node);
    }
    size_t left = 0;
    for (const auto& pod : items) {
      std::string phase = pod["status"].value("phase", "");
      if (phase == "Succeeded" || phase == "Failed") {
        continue;
      }
      ++left;
      if (pod["metadata"].contains("deletionTimestamp")) {
        continue;  // already going
      }
      std::string ns = pod["metadata"].value("namespace", "default");
      std::string name = pod["metadata"].value("name", "");
      HttpCall evict;
      evict.method = "POST";
      evict.path = "/api/v1/namespaces/" + ns + "/pods/" + name + "/eviction";
      evict.body = json{{"apiVersion", "policy/v1"},
                        {"kind", "Eviction"},
                        {"metadata", {{"name", name}, {"namespace", ns}}}}
                       .dump();
      auto evicted = apiCall(dir, state, token, evict);
      if (evicted && evicted->status == 429) {
        waiting = ns + "/" + name + " (its disruption budget allows no eviction now)";
      } else if (evicted && evicted->status < 300) {
        say(progress, "  " + node + ": evicted " + ns + "/" + name);
      }
    }
    if (left == 0) {
      return ok();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(ErrorCode::DeadlineExceeded, "drain ", node, ": ", std::to_string(left),
                  " pods left after ", seconds(timeout),
                  waiting.empty() ? "" : "; waiting for " + waiting);
    }
    std::this_thread::sleep_for(200ms);
  }
}

Result<void> uncordonNode(const std::string& dir, const ClusterState& state,
                          const std::string& token, const std::string& node) {
  return setUnschedulable(dir, state, token, node, false);
}

}  // namespace rampart::cluster

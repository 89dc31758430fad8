#include "drill/cluster_drill.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/runtime/node_cleanup.h"
#include "cluster/api_probe.h"
#include "cluster/credentials.h"
#include "cluster/http_call.h"
#include "cluster/lab_network.h"
#include "cluster/node_ops.h"
#include "cluster/up.h"
#include "runtime/process.h"

namespace rampart::drill {
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string fixed(double value, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f %s", value, unit);
  return buf;
}

struct WebPod {
  std::string name;
  std::string node;
  bool ready = false;
  bool terminating = false;
};

}  // namespace

struct ClusterDrill::State {
  TimePoint start = std::chrono::steady_clock::now();
  int host_netns = -1;  // this process's own namespace, to come back to after `up`
  cluster::ClusterState cluster;
  cluster::Tokens tokens;
  std::string dir;
  std::string service_ip;
  std::string client_node;  // where the Service's client runs
  std::unique_ptr<cluster::ApiProbe> web_client;

  void say(const std::string& line) const {
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[%6.1fs] %s\n", t, line.c_str());
    std::fflush(stdout);
  }

  Result<void> backHome() const {
    if (host_netns >= 0 && ::setns(host_netns, CLONE_NEWNET) != 0) {
      return fail(ErrorCode::Internal, "cannot return to this process's network namespace");
    }
    return ok();
  }

  // A GET through the kubectl gateway on this host's loopback; null when it fails.
  json get(const std::string& path) const {
    cluster::HttpCall call;
    call.path = path;
    call.tls.ca = cluster::caFile(dir);
    call.bearer = tokens.admin;
    call.timeout = 2s;
    auto r = cluster::httpCall({"127.0.0.1", cluster.gateway_port, true}, call);
    return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  }

  std::vector<WebPod> webPods() const {
    std::vector<WebPod> pods;
    auto list = get("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb");
    if (!list.is_object() || !list["items"].is_array()) {
      return pods;
    }
    for (const auto& p : list["items"]) {
      WebPod pod;
      pod.name = p["metadata"].value("name", "");
      pod.terminating = p["metadata"].contains("deletionTimestamp");
      if (p["spec"].is_object()) {
        pod.node = p["spec"].value("nodeName", "");
      }
      if (p.contains("status") && p["status"].contains("conditions")) {
        for (const auto& c : p["status"]["conditions"]) {
          if (c.value("type", "") == "Ready" && c.value("status", "") == "True") {
            pod.ready = true;
          }
        }
      }
      pods.push_back(pod);
    }
    return pods;
  }

  // Web pods Ready and not terminating, on any node but `except`.
  int readyWebPods(const std::string& except = "") const {
    int ready = 0;
    for (const auto& p : webPods()) {
      ready += p.ready && !p.terminating && p.node != except ? 1 : 0;
    }
    return ready;
  }

  std::string controllerHolder() const {
    auto lease =
        get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rampart-controller");
    return lease.is_object() && lease["spec"].is_object()
               ? lease["spec"].value("holderIdentity", "")
               : "";
  }

  // The whole machine of `node` dies: every process in its namespace and its pods.
  void killNode(const std::string& node) const {
    for (pid_t p : cluster::netnsPids(node)) {
      ::kill(p, SIGKILL);
    }
    agent::runtime::signalNodePods(node, SIGKILL);
  }

  // `rampart up` on the directory: what is not running starts again.
  Result<void> bringBack(const std::string& binary) {
    cluster::UpOptions options;
    options.dir = dir;
    options.binary = binary;
    options.ready_timeout = 60s;
    auto r = cluster::up(options);
    if (auto home = backHome(); !home) {
      return home;
    }
    if (!r) {
      return fail(r.error());
    }
    cluster = r->state;
    return ok();
  }

  cluster::ApiProbeOptions apiClient(const std::string& node) const {
    cluster::ApiProbeOptions o;
    o.netns = node;
    o.host = cluster::kApiVip;
    o.port = cluster::kApiPort;
    o.ca_file = cluster::caFile(dir);
    o.token = tokens.admin;
    return o;
  }
};

ClusterDrill::ClusterDrill(ClusterDrillOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {
  state_->dir = cluster::absoluteDir(options_.dir);
  state_->host_netns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
}

ClusterDrill::~ClusterDrill() {
  if (state_->web_client) {
    state_->web_client->stop();
  }
  (void)state_->backHome();
  if (!keep_) {
    state_->say("removing the cluster (rampart down --purge)");
    (void)cluster::down({state_->dir, true, nullptr});
  }
  if (state_->host_netns >= 0) {
    ::close(state_->host_netns);
  }
}

Result<void> ClusterDrill::up() {
  auto& s = *state_;
  s.say("rampart up --dir " + s.dir + " --masters 3 --workers 3 --zones a,b,c");
  cluster::UpOptions options;
  options.dir = s.dir;
  options.spec.name = options_.name;
  options.binary = options_.binary;
  options.progress = [&s](const std::string& line) { s.say("  " + line); };
  auto report = cluster::up(options);
  if (auto home = s.backHome(); !home) {
    return home;
  }
  if (!report) {
    return fail(report.error());
  }
  s.cluster = report->state;
  auto tokens = cluster::readTokens(s.dir);
  if (!tokens) {
    return fail(tokens.error());
  }
  s.tokens = *tokens;
  double took = std::chrono::duration<double>(report->took).count();
  verdicts_.push_back({"rampart up: every node Ready", fixed(took * 1000, "ms"), "<= 30 s",
                       took <= 30});
  return ok();
}

Result<void> ClusterDrill::deployWeb() {
  auto& s = *state_;
  std::string manifest = s.dir + "/web.yaml";
  std::ofstream(manifest) <<
      "apiVersion: apps/v1\n"
      "kind: Deployment\n"
      "metadata: {name: web}\n"
      "spec:\n"
      "  replicas: 3\n"
      "  selector: {matchLabels: {app: web}}\n"
      "  template:\n"
      "    metadata:\n"
      "      labels: {app: web}\n"
      "      annotations: {rampart.io/probe-period-ms: \"200\"}\n"
      "    spec:\n"
      "      topologySpreadConstraints:\n"
      "      - maxSkew: 1\n"
      "        topologyKey: topology.kubernetes.io/zone\n"
      "        whenUnsatisfiable: DoNotSchedule\n"
      // A lost worker's zone counts 0 (its pods are terminating, and spread skips those):
      // Honor leaves the node, tainted unreachable, out of the domains, so the replacements
      // go to the other zones instead of staying Pending until it returns.
      "        nodeTaintsPolicy: Honor\n"
      "        labelSelector: {matchLabels: {app: web}}\n"
      "      containers:\n"
      "      - name: web\n"
      "        image: rampart-demo-web\n"
      "        command: [\"" << options_.binary << "\", demo, web, --port, \"8080\"]\n"
      "        env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]\n"
      "        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}\n"
      "---\n"
      "apiVersion: policy/v1\n"
      "kind: PodDisruptionBudget\n"
      "metadata: {name: web}\n"
      "spec: {minAvailable: 2, selector: {matchLabels: {app: web}}}\n"
      "---\n"
      "apiVersion: v1\n"
      "kind: Service\n"
      "metadata: {name: web}\n"
      "spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n";
  s.say("kubectl apply -f " + manifest + "   (Deployment web x3 spread over the zones, "
        "PodDisruptionBudget minAvailable 2, Service web)");
  auto applied = runtime::runCommand(
      {"kubectl", "--kubeconfig", cluster::adminKubeconfig(s.dir), "apply", "-f", manifest}, 30s);
  if (applied.exit_code != 0) {
    return fail(ErrorCode::Unavailable, "kubectl apply: ", applied.output);
  }
  auto until = std::chrono::steady_clock::now() + 60s;
  std::vector<WebPod> pods;
  while (std::chrono::steady_clock::now() < until) {
    pods = s.webPods();
    int ready = 0;
    for (const auto& p : pods) {
      ready += p.ready ? 1 : 0;
    }
    if (ready == 3) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  std::string where;
  for (const auto& p : pods) {
    where += p.name + " on " + p.node + (p.ready ? "" : " (not Ready)") + "  ";
  }
  s.say("  web pods Ready: " + where);
  auto service = s.get("/api/v1/namespaces/default/services/web");
  if (!service.is_object() || !service["spec"].is_object()) {
    return fail(ErrorCode::Unavailable, "the Service web was not created");
  }
  s.service_ip = service["spec"].value("clusterIP", "");
  // The client runs on the last worker; the faults go to other workers.
  for (const auto& n : s.cluster.nodes) {
    if (n.spec.role == cluster::Role::Worker) {
      s.client_node = n.spec.name;
    }
  }
  cluster::ApiProbeOptions client;
  client.netns = s.client_node;
  client.host = s.service_ip;
  client.port = 80;
  client.path = "/";
  client.timeout = 1s;
  s.web_client = std::make_unique<cluster::ApiProbe>(client);
  if (auto r = s.web_client->start(); !r) {
    return r;
  }
  std::this_thread::sleep_for(1s);
  auto first = cluster::summarize(s.web_client->samples());
  s.say("  a client on " + s.client_node + " asks http://" + s.service_ip +
        "/ (Service web) every 10 ms: " + std::to_string(first.requests - first.failed) + " of " +
        std::to_string(first.requests) + " answered in the first second");
  if (first.requests == first.failed) {
    return fail(ErrorCode::Unavailable, "the Service web does not answer from ", s.client_node,
                ": ", first.first_error);
  }
  return ok();
}

Result<void> ClusterDrill::killMaster() {
  auto& s = *state_;
  std::string holder = s.controllerHolder();
  if (holder.empty()) {
    return fail(ErrorCode::Unavailable, "no controller holds the Lease");
  }
  cluster::ApiProbe api(s.apiClient(s.client_node));
  if (auto r = api.start(); !r) {
    return r;
  }
  std::this_thread::sleep_for(1s);
  s.say("an API client on " + s.client_node + " asks the API through the VIP " +
        std::string(cluster::kApiVip) + " every 10 ms, a new connection each time");
  auto t0 = std::chrono::steady_clock::now();
  s.killNode(holder);
  s.say("SIGKILL: every process of " + holder +
        " (etcd member, API server, the acting controller, agent)");
  std::string next;
  Duration handover{};
  while (std::chrono::steady_clock::now() - t0 < 10s) {
    next = s.controllerHolder();
    if (!next.empty() && next != holder) {
      handover = std::chrono::steady_clock::now() - t0;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (!next.empty() && next != holder) {
    s.say("  controller on " + next + " acting (" + fixed(ms(handover), "ms") +
          " after the SIGKILL)");
  }
  std::this_thread::sleep_for(2s);
  api.stop();
  auto summary = cluster::summarize(api.between(t0 - 1s, t0 + 2s));
  s.say("  API requests around the kill: " + std::to_string(summary.requests) + ", failed " +
        std::to_string(summary.failed) + ", longest gap " + fixed(ms(summary.longest_gap), "ms"));
  // A request the dying server already held is lost with it (no balancer can replay one); it
  // is shown, and the verdict is on the others: none may go to a dead server.
  verdicts_.push_back({"master killed: API requests failed (through the VIP)",
                       std::to_string(summary.failed) + " of " + std::to_string(summary.requests) +
                           (summary.in_flight ? " (" + std::to_string(summary.in_flight) +
                                                    " in flight on it)"
                                              : ""),
                       "0 not in flight", summary.failed == summary.in_flight});
  verdicts_.push_back({"master killed: longest gap between API answers",
                       fixed(ms(summary.longest_gap), "ms"), "<= 100 ms (bench target)",
                       summary.longest_gap <= 100ms});
  bool handed = !next.empty() && next != holder;
  verdicts_.push_back({"master killed: controllers acting again",
                       handed ? fixed(ms(handover), "ms") : "never", "<= 1000 ms",
                       handed && handover <= 1s});
  s.say("bringing " + holder + " back (rampart up --dir " + s.dir + ")");
  if (auto r = s.bringBack(options_.binary); !r) {
    return r;
  }
  s.say("  " + holder + " back; every node Ready");
  return ok();
}

Result<void> ClusterDrill::killWorker() {
  auto& s = *state_;
  std::string victim;
  for (const auto& p : s.webPods()) {
    if (p.node != s.client_node && !p.node.empty() && p.node.find("-w") != std::string::npos) {
      victim = p.node;
      break;
    }
  }
  if (victim.empty()) {
    return fail(ErrorCode::FailedPrecondition, "no worker other than the client's has a web pod");
  }
  auto t0 = std::chrono::steady_clock::now();
  s.killNode(victim);
  s.say("SIGKILL: every process of worker " + victim + " and its pods");
  Duration replaced{};
  bool done = false;
  while (std::chrono::steady_clock::now() - t0 < 30s) {
    if (s.readyWebPods(victim) >= 3) {
      replaced = std::chrono::steady_clock::now() - t0;
      done = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  if (done) {
    s.say("  3 web pods Ready again, none on " + victim + " (" + fixed(ms(replaced), "ms") +
          " after the SIGKILL)");
  }
  std::this_thread::sleep_for(1s);
  auto summary = cluster::summarize(
      s.web_client->between(t0 - 500ms, std::chrono::steady_clock::now()));
  s.say("  Service requests meanwhile: " + std::to_string(summary.requests) + ", failed " +
        std::to_string(summary.failed));
  verdicts_.push_back({"worker killed: its pods Ready elsewhere",
                       done ? fixed(ms(replaced), "ms") : "not within 30 s", "<= 2000 ms",
                       done && replaced <= 2s});
  verdicts_.push_back({"worker killed: Service requests failed",
                       std::to_string(summary.failed) + " of " + std::to_string(summary.requests),
                       "0", summary.failed == 0});
  s.say("bringing " + victim + " back (rampart up --dir " + s.dir + ")");
  if (auto r = s.bringBack(options_.binary); !r) {
    return r;
  }
  s.say("  " + victim + " back; every node Ready");
  return ok();
}

Result<void> ClusterDrill::drainWorker() {
  auto& s = *state_;
  std::string victim;
  for (const auto& p : s.webPods()) {
    if (p.node != s.client_node && p.node.find("-w") != std::string::npos && p.ready) {
      victim = p.node;
      break;
    }
  }
  if (victim.empty()) {
    return fail(ErrorCode::FailedPrecondition, "no worker other than the client's has a web pod");
  }
  // Watches the budget from the side: the fewest Ready web pods seen while the drain runs.
  std::atomic<bool> watching{true};
  std::atomic<int> fewest{3};
  std::thread watcher([&] {
    while (watching) {
      int ready = s.readyWebPods();
      if (ready < fewest) {
        fewest = ready;
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  s.say("kubectl drain " + victim + ": cordon, then evict its pods through the Eviction API");
  // The drain speaks to the masters from the hub: a thread of its own moves there, so this
  // one (and the gateway on the host's loopback) stays where it is.
  auto inHub = [&s](auto work) {
    Result<void> result = ok();
    std::thread worker([&] {
      auto in = cluster::enterNetns(cluster::hubNamespace(s.cluster.name));
      result = in ? work() : in;
    });
    worker.join();
    return result;
  };
  auto progress = [&s](const std::string& line) { s.say(line); };
  Result<void> drained = inHub([&] {
    return cluster::drainNode(s.dir, s.cluster, s.tokens.admin, victim, 60s, progress);
  });
  // The evicted pod runs again elsewhere before the node is given back.
  auto until = std::chrono::steady_clock::now() + 30s;
  while (drained && std::chrono::steady_clock::now() < until) {
    if (s.readyWebPods() >= 3) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  if (drained) {
    drained = inHub([&] { return cluster::uncordonNode(s.dir, s.cluster, s.tokens.admin, victim); });
  }
  watching = false;
  watcher.join();
  if (!drained) {
    return drained;
  }
  s.say("  " + victim + " drained and uncordoned (" +
        fixed(ms(std::chrono::steady_clock::now() - t0), "ms") + ")");
  auto summary = cluster::summarize(
      s.web_client->between(t0, std::chrono::steady_clock::now()));
  verdicts_.push_back({"drain: Ready web pods never below the budget", std::to_string(fewest),
                       ">= 2", fewest >= 2});
  verdicts_.push_back({"drain: Service requests failed",
                       std::to_string(summary.failed) + " of " + std::to_string(summary.requests),
                       "0", summary.failed == 0});
  return ok();
}

}  // namespace rampart::drill

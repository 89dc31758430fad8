// Control-plane scale on this machine: etcd ×3, `rampart server` ×S, `rampart agent --simulate
// N` (hollow nodes), and `rampart controller` when this build has one; then P pods, as
// Deployments of R replicas (the controller creates, schedules and the agent starts them) or,
// with --no-controller, as pods the bench binds round-robin itself.
//
//   cluster_bench [--nodes 1000] [--pods 10000] [--replicas 100] [--servers 2]
//                 [--no-controller] [--controller-flag F]... [--lease-renew-interval 10s]
//                 [--timeout 900] [--dir D]
//
// Measured:
//   pod startup     created → Running and Ready, both as seen by one watch of the pods
//                   (Kubernetes' SLO: p99 ≤ 5 s);
//   binding         pods bound per second (first to last bind seen by the watch);
//   API latency     single-object get/create/update of ConfigMaps, one call every 20 ms
//                   each while the pods start (SLO: p99 ≤ 1 s);
//   kubectl         `kubectl get pods -A` wall time once everything runs;
//   memory          peak RSS (VmHWM) of each server, the controller and the agent;
//   etcd            database file size of the first member.
// Prints a Markdown table for docs/BENCHMARKS.md. Everything it starts is stopped (by PID) and
// its directory removed unless --dir is given.

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/duration.h"
#include "base/log.h"
#include "kube/http_client.h"
#include "kube/kubeconfig.h"
#include "lab/etcd_cluster.h"
#include "runtime/process.h"

namespace {

using namespace rampart;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kToken = "rampart-bench-admin-token";
constexpr const char* kNamespace = "bench";

struct Flags {
  int nodes = 1000;
  int pods = 10000;
  int replicas = 100;
  int servers = 2;
  bool no_controller = false;
  std::string renew_interval = "10s";
  std::vector<std::string> controller_flags;  // extra flags for `rampart controller`
  int timeout_s = 900;
  std::string dir;
};

struct Percentiles {
  std::vector<double> ms;
  void add(Duration d) { ms.push_back(toMillis(d)); }
  double at(double p) {
    if (ms.empty()) {
      return 0;
    }
    std::sort(ms.begin(), ms.end());
    size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(ms.size()));
    return ms[std::min(ms.size() - 1, rank)];
  }
  std::string p50p99() {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f ms / %.1f ms", at(50), at(99));
    return buf;
  }
};

struct Proc {
  std::string name;
  pid_t pid = 0;
  std::string log;
};

int usage(const char* why) {
  std::fprintf(
      stderr,
      "cluster_bench: %s\nusage: cluster_bench [--nodes N] [--pods N] [--replicas R] "
      "[--servers 1|2] [--no-controller] [--controller-flag F]... [--lease-renew-interval D] "
      "[--timeout S] [--dir D]\n",
      why);
  return 2;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void say(const std::string& text) {
  static const auto start = Clock::now();
  std::fprintf(stderr, "[%7.1fs] %s\n", std::chrono::duration<double>(Clock::now() - start).count(),
               text.c_str());
}

// The first JSON line of `log` that starts with {"event":"<event>", waiting up to `limit`.
std::optional<json> waitForEvent(const Proc& proc, const std::string& event, Duration limit) {
  auto until = Clock::now() + limit;
  std::string needle = "{\"event\":\"" + event + "\"";
  while (Clock::now() < until) {
    std::string log = readFile(proc.log);
    if (auto at = log.find(needle); at != std::string::npos) {
      json line = json::parse(log.substr(at, log.find('\n', at) - at), nullptr, false);
      if (!line.is_discarded()) {
        return line;
      }
    }
    if (!runtime::isAlive(proc.pid)) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

// Peak resident set (VmHWM) in MiB; 0 when unreadable.
double peakRssMiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
    }
  }
  return 0;
}

class Bench {
 public:
  explicit Bench(Flags flags) : flags_(std::move(flags)) {}
  ~Bench() { stopAll(); }

  int run();

 private:
  Result<void> startEtcd();
  Result<Proc> startServer(int index);
  Result<Proc> startAgent(const std::string& kubeconfig);
  Result<std::optional<Proc>> startController(const std::string& kubeconfig);
  asio::awaitable<int> measure(kube::Client& client);
  asio::awaitable<void> watchPods(kube::Client& client, std::string revision);
  asio::awaitable<void> probeApi(kube::Client& client);
  asio::awaitable<Result<void>> createWorkload(kube::Client& client);
  asio::awaitable<void> sleep(Duration d) {
    asio::steady_timer timer(*io_, d);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  void stopAll();

  Flags flags_;
  std::unique_ptr<lab::EtcdCluster> etcd_;
  std::vector<Proc> servers_;
  std::optional<Proc> controller_;
  std::optional<Proc> agent_;
  asio::io_context* io_ = nullptr;

  // What the watch saw, per pod name (steady time).
  struct PodTimes {
    std::optional<Clock::time_point> added, bound, running;
  };
  std::unordered_map<std::string, PodTimes> pods_;
  int running_ = 0;
  bool done_ = false;
  std::optional<Clock::time_point> first_created_;
  Clock::time_point created_all_;
  Percentiles api_get_, api_create_, api_update_;
  int api_errors_ = 0;
  std::string error_;
};

Result<void> Bench::startEtcd() {
  lab::EtcdClusterOptions options;
  options.members = 3;
  options.dir = flags_.dir + "/etcd";
  // etcd's own default timing: the lab's 10 ms heartbeat would trade elections for load here.
  options.heartbeat = 100ms;
  options.election = 1000ms;
  auto cluster = lab::EtcdCluster::start(options);
  if (!cluster) {
    return fail(cluster.error());
  }
  etcd_ = std::move(*cluster);
  return {};
}

Result<Proc> Bench::startServer(int index) {
  Proc proc{"server-" + std::to_string(index), 0,
            flags_.dir + "/server-" + std::to_string(index) + ".log"};
  std::string kubeconfig = flags_.dir + "/kubeconfig-" + std::to_string(index);
  std::vector<std::string> argv = {RAMPART_BINARY,       "server",
                                   "--etcd-servers",     etcd_->endpointList(),
                                   "--bind-address",     "127.0.0.1",
                                   "--secure-port",      "0",
                                   "--token-auth-file",  flags_.dir + "/tokens.csv",
                                   "--cert-dir",         flags_.dir + "/pki",
                                   "--write-kubeconfig", kubeconfig};
  auto pid = runtime::spawn(runtime::SpawnOptions{argv, proc.log});
  if (!pid) {
    return fail(pid.error());
  }
  proc.pid = *pid;
  servers_.push_back(proc);
  if (!waitForEvent(proc, "serving", 20s)) {
    return fail(ErrorCode::Unavailable, proc.name, " did not start; see ", proc.log);
  }
  auto until = Clock::now() + 20s;
  while (Clock::now() < until) {
    auto ready = runtime::runCommand({"kubectl", "--kubeconfig", kubeconfig, "--cache-dir",
                                      flags_.dir + "/kube-cache", "get", "--raw", "/readyz"},
                                     5s);
    if (ready.output == "ok") {
      return proc;
    }
    std::this_thread::sleep_for(100ms);
  }
  return fail(ErrorCode::Unavailable, proc.name, " never became ready; see ", proc.log);
}

Result<Proc> Bench::startAgent(const std::string& kubeconfig) {
  Proc proc{"agent", 0, flags_.dir + "/agent.log"};
  std::vector<std::string> argv = {RAMPART_BINARY,
                                   "agent",
                                   "--kubeconfig",
                                   kubeconfig,
                                   "--simulate",
                                   std::to_string(flags_.nodes),
                                   "--zones",
                                   "zone-a,zone-b,zone-c",
                                   "--lease-renew-interval",
                                   flags_.renew_interval};
  auto pid = runtime::spawn(runtime::SpawnOptions{argv, proc.log});
  if (!pid) {
    return fail(pid.error());
  }
  proc.pid = *pid;
  agent_ = proc;
  auto registered = waitForEvent(proc, "registered", 600s);
  if (!registered) {
    return fail(ErrorCode::Unavailable, "the agent did not register its nodes; see ", proc.log);
  }
  say("agent registered " + std::to_string(flags_.nodes) + " nodes in " +
      std::to_string(static_cast<int>((*registered)["ms"].get<double>())) + " ms");
  return proc;
}

Result<std::optional<Proc>> Bench::startController(const std::string& kubeconfig) {
  // An unknown subcommand's --help prints the top-level help and exits 0 too: look for the
  // subcommand's own usage line.
  auto help = runtime::runCommand({RAMPART_BINARY, "controller", "--help"}, 10s);
  if (help.exit_code != 0 || help.output.find("rampart controller") == std::string::npos) {
    return std::optional<Proc>{};
  }
  Proc proc{"controller", 0, flags_.dir + "/controller.log"};
  std::vector<std::string> argv = {RAMPART_BINARY, "controller", "--kubeconfig", kubeconfig};
  argv.insert(argv.end(), flags_.controller_flags.begin(), flags_.controller_flags.end());
  auto pid = runtime::spawn(runtime::SpawnOptions{argv, proc.log});
  if (!pid) {
    return fail(pid.error());
  }
  proc.pid = *pid;
  std::this_thread::sleep_for(2s);
  if (!runtime::isAlive(proc.pid)) {
    return fail(ErrorCode::Unavailable, "the controller exited at start; see ", proc.log);
  }
  return std::optional<Proc>(proc);
}

void Bench::stopAll() {
  // Only what this bench started, by PID: the agent first (so it stops writing), then the
  // controller, the servers and etcd.
  if (agent_ && agent_->pid > 0) {
    runtime::terminate(agent_->pid, 5s);
    agent_->pid = 0;
  }
  if (controller_ && controller_->pid > 0) {
    runtime::terminate(controller_->pid, 5s);
    controller_->pid = 0;
  }
  for (auto& server : servers_) {
    if (server.pid > 0) {
      runtime::terminate(server.pid, 5s);
      server.pid = 0;
    }
  }
  etcd_.reset();
}

asio::awaitable<void> Bench::watchPods(kube::Client& client, std::string revision) {
  while (!done_) {
    auto stream =
        co_await client.watch(std::string("/api/v1/namespaces/") + kNamespace +
                              "/pods?allowWatchBookmarks=true&resourceVersion=" + revision);
    if (!stream) {
      say("watch: " + stream.error().message);
      co_await sleep(200ms);
      continue;
    }
    while (!done_) {
      auto event = co_await (*stream)->next(500ms);
      if (!event) {
        break;
      }
      if (!*event) {
        continue;
      }
      auto now = Clock::now();
      const json& e = **event;
      const json& pod = e["object"];
      std::string type = e.value("type", "");
      if (type == "ERROR") {
        error_ = "the pod watch failed: " + pod.dump();
        done_ = true;
        break;
      }
      revision = pod.value("/metadata/resourceVersion"_json_pointer, revision);
      if (type != "ADDED" && type != "MODIFIED") {
        continue;
      }
      auto& t = pods_[pod.value("/metadata/name"_json_pointer, std::string())];
      if (!t.added) {
        t.added = now;
      }
      if (!t.bound && !pod.value("/spec/nodeName"_json_pointer, std::string()).empty()) {
        t.bound = now;
      }
      bool ready = false;
      if (pod.value("/status/phase"_json_pointer, std::string()) == "Running") {
        for (const auto& c : pod.value("/status/conditions"_json_pointer, json::array())) {
          ready = ready || (c.value("type", "") == "Ready" && c.value("status", "") == "True");
        }
      }
      if (ready && !t.running) {
        t.running = now;
        if (++running_ >= flags_.pods) {
          done_ = true;
        }
      }
    }
  }
}

// Single-object calls under load, one every 20 ms: create, get, update of a ConfigMap.
asio::awaitable<void> Bench::probeApi(kube::Client& client) {
  const std::string base = std::string("/api/v1/namespaces/") + kNamespace + "/configmaps";
  for (int i = 0; !done_; ++i) {
    std::string name = "probe-" + std::to_string(i);
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", name}}},
               {"data", {{"n", std::to_string(i)}}}};
    auto start = Clock::now();
    auto created = co_await client.call("POST", base, cm.dump());
    if (!created || created->status != 201) {
      ++api_errors_;
      co_await sleep(20ms);
      continue;
    }
    api_create_.add(Clock::now() - start);
    co_await sleep(20ms);
    start = Clock::now();
    auto got = co_await client.call("GET", base + "/" + name);
    if (!got || got->status != 200) {
      ++api_errors_;
      continue;
    }
    api_get_.add(Clock::now() - start);
    co_await sleep(20ms);
    json next = got->body;
    next["data"]["n"] = "updated";
    start = Clock::now();
    auto updated = co_await client.call("PUT", base + "/" + name, next.dump());
    if (!updated || updated->status != 200) {
      ++api_errors_;
      continue;
    }
    api_update_.add(Clock::now() - start);
    co_await sleep(20ms);
  }
}

json podTemplate(const std::string& app) {
  return {{"metadata", {{"labels", {{"app", app}}}}},
          {"spec",
           {{"terminationGracePeriodSeconds", 0},
            {"containers",
             {{{"name", "app"},
               {"image", "registry.k8s.io/pause:3.10"},
               {"resources", {{"requests", {{"cpu", "10m"}, {"memory", "16Mi"}}}}}}}}}}};
}

// Creates the workload, 16 requests at a time: Deployments (the controller makes the pods) or,
// without a controller, the pods themselves bound round-robin to the simulated nodes.
asio::awaitable<Result<void>> Bench::createWorkload(kube::Client& client) {
  int objects =
      flags_.no_controller ? flags_.pods : (flags_.pods + flags_.replicas - 1) / flags_.replicas;
  int next = 0;
  int active = 0;
  std::optional<Error> error;
  asio::steady_timer all_done(*io_, asio::steady_timer::time_point::max());
  auto one = [&](int worker) -> asio::awaitable<void> {
    (void)worker;
    while (!error && next < objects) {
      int i = next++;
      std::string target;
      json body;
      if (flags_.no_controller) {
        target = std::string("/api/v1/namespaces/") + kNamespace + "/pods";
        body = podTemplate("bench");
        body["apiVersion"] = "v1";
        body["kind"] = "Pod";
        body["metadata"]["name"] = "pod-" + std::to_string(i);
        body["spec"]["nodeName"] = "sim-" + std::to_string(i % flags_.nodes);
      } else {
        int replicas = std::min(flags_.replicas, flags_.pods - i * flags_.replicas);
        std::string app = "d-" + std::to_string(i);
        target = std::string("/apis/apps/v1/namespaces/") + kNamespace + "/deployments";
        body = {{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", {{"name", app}}},
                {"spec",
                 {{"replicas", replicas},
                  {"selector", {{"matchLabels", {{"app", app}}}}},
                  {"template", podTemplate(app)}}}};
      }
      if (!first_created_) {
        first_created_ = Clock::now();
      }
      auto reply = co_await client.call("POST", target, body.dump());
      if (!reply || reply->status != 201) {
        error = Error{ErrorCode::Internal, "create " + target + ": " +
                                               (reply ? reply->message() : reply.error().message)};
      }
    }
    if (--active == 0) {
      all_done.cancel();
    }
  };
  for (int w = 0; w < 16; ++w) {
    ++active;
    asio::co_spawn(*io_, one(w), asio::detached);
  }
  while (active > 0) {
    co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  created_all_ = Clock::now();
  if (error) {
    co_return fail(*error);
  }
  co_return Result<void>{};
}

asio::awaitable<int> Bench::measure(kube::Client& client) {
  json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNamespace}}}};
  auto made = co_await client.call("POST", "/api/v1/namespaces", ns.dump());
  if (!made || (made->status != 201 && made->status != 409)) {
    error_ = "cannot create the namespace";
    co_return 1;
  }
  auto listed = co_await client.call(
      "GET", std::string("/api/v1/namespaces/") + kNamespace + "/pods?limit=1");
  if (!listed || !listed->ok()) {
    error_ = "cannot list pods";
    co_return 1;
  }
  std::string revision =
      listed->body.value("/metadata/resourceVersion"_json_pointer, std::string("0"));
  asio::co_spawn(*io_, watchPods(client, revision), asio::detached);
  asio::co_spawn(*io_, probeApi(client), asio::detached);
  say("creating " + std::to_string(flags_.pods) + " pods" +
      (flags_.no_controller ? " bound round-robin by the bench"
                            : " as Deployments of " + std::to_string(flags_.replicas)));
  auto created = co_await createWorkload(client);
  if (!created) {
    error_ = created.error().message;
    done_ = true;
    co_return 1;
  }
  say("created in " + std::to_string(toMillis(created_all_ - *first_created_) / 1000.0) + " s");
  auto until = Clock::now() + std::chrono::seconds(flags_.timeout_s);
  auto report = Clock::now();
  while (!done_ && Clock::now() < until) {
    co_await sleep(100ms);
    if (Clock::now() - report > 5s) {
      report = Clock::now();
      int bound = 0;
      for (const auto& [name, t] : pods_) {
        bound += t.bound ? 1 : 0;
      }
      say("pods seen " + std::to_string(pods_.size()) + ", bound " + std::to_string(bound) +
          ", running " + std::to_string(running_));
    }
  }
  if (!done_) {
    error_ = "only " + std::to_string(running_) + " of " + std::to_string(flags_.pods) +
             " pods ran within " + std::to_string(flags_.timeout_s) + " s";
    done_ = true;
    co_return 1;
  }
  co_await sleep(600ms);  // the prober and the watch see done_ and end
  co_return 0;
}

int Bench::run() {
  std::ofstream(flags_.dir + "/tokens.csv") << kToken << ",admin,admin-uid,\"system:masters\"\n";
  say("starting etcd (3 members)");
  if (auto r = startEtcd(); !r) {
    std::fprintf(stderr, "cluster_bench: etcd: %s\n", r.error().message.c_str());
    return 1;
  }
  for (int i = 0; i < flags_.servers; ++i) {
    auto server = startServer(i);
    if (!server) {
      std::fprintf(stderr, "cluster_bench: %s\n", server.error().message.c_str());
      return 1;
    }
    say("server-" + std::to_string(i) + " ready");
  }
  std::string kc_agent = flags_.dir + "/kubeconfig-0";
  std::string kc_other = flags_.dir + "/kubeconfig-" + std::to_string(flags_.servers - 1);
  if (!flags_.no_controller) {
    auto controller = startController(kc_other);
    if (!controller) {
      std::fprintf(stderr, "cluster_bench: %s\n", controller.error().message.c_str());
      return 1;
    }
    if (!*controller) {
      say("`rampart controller --help` fails: this build has no controller; binding the pods "
          "from the bench (--no-controller)");
      flags_.no_controller = true;
    } else {
      controller_ = **controller;
      say("controller started");
    }
  }
  auto agent = startAgent(kc_agent);
  if (!agent) {
    std::fprintf(stderr, "cluster_bench: %s\n", agent.error().message.c_str());
    return 1;
  }

  auto config = kube::loadKubeConfig(kc_other);
  if (!config) {
    std::fprintf(stderr, "cluster_bench: %s\n", config.error().message.c_str());
    return 1;
  }
  asio::io_context io;
  io_ = &io;
  kube::HttpClientOptions client_options;
  client_options.user_agent = "cluster-bench";
  auto client = kube::HttpClient::make(io.get_executor(), *config, client_options);
  if (!client) {
    std::fprintf(stderr, "cluster_bench: %s\n", client.error().message.c_str());
    return 1;
  }
  auto measured = asio::co_spawn(io, measure(**client), asio::use_future);
  io.run();
  int code = measured.get();
  if (code != 0) {
    std::fprintf(stderr, "cluster_bench: %s\n", error_.c_str());
    return code;
  }

  // kubectl get pods -A, three times (the first also fills kubectl's discovery cache).
  Percentiles kubectl_ms;
  size_t lines = 0;
  for (int i = 0; i < 3; ++i) {
    auto start = Clock::now();
    auto listed =
        runtime::runCommand({"kubectl", "--kubeconfig", kc_other, "--cache-dir",
                             flags_.dir + "/kube-cache", "get", "pods", "-A", "--no-headers"},
                            300s);
    kubectl_ms.add(Clock::now() - start);
    lines = static_cast<size_t>(std::count(listed.output.begin(), listed.output.end(), '\n')) + 1;
  }

  Percentiles startup;
  std::vector<Clock::time_point> binds;
  Clock::time_point last_running{};
  for (const auto& [name, t] : pods_) {
    if (t.added && t.running) {
      startup.add(*t.running - *t.added);
      last_running = std::max(last_running, *t.running);
    }
    if (t.bound) {
      binds.push_back(*t.bound);
    }
  }
  std::sort(binds.begin(), binds.end());
  double bind_rate = binds.size() > 1
                         ? static_cast<double>(binds.size() - 1) /
                               std::chrono::duration<double>(binds.back() - binds.front()).count()
                         : 0;
  double create_s = std::chrono::duration<double>(created_all_ - *first_created_).count();
  double all_running_s = std::chrono::duration<double>(last_running - *first_created_).count();

  std::vector<std::pair<std::string, double>> rss;
  for (const auto& server : servers_) {
    rss.emplace_back(server.name, peakRssMiB(server.pid));
  }
  if (controller_) {
    rss.emplace_back("controller", peakRssMiB(controller_->pid));
  }
  rss.emplace_back("agent", peakRssMiB(agent_->pid));
  std::error_code ec;
  double db_mib = static_cast<double>(
                      fs::file_size(etcd_->members().front().data_dir + "/member/snap/db", ec)) /
                  (1024.0 * 1024.0);

  // Stop the agent now to read its own counters.
  runtime::terminate(agent_->pid, 10s);
  agent_->pid = 0;
  json agent_stats =
      waitForEvent(*agent_, "stopped", 1s).value_or(json{{"stats", nullptr}})["stats"];

  std::printf("\n| figure | value |\n| --- | --- |\n");
  std::printf("| simulated nodes / pods | %d / %d |\n", flags_.nodes, flags_.pods);
  std::printf("| how pods are made | %s |\n",
              flags_.no_controller ? "created bound round-robin by the bench (no controller)"
                                   : ("Deployments of " + std::to_string(flags_.replicas) +
                                      " replicas, scheduled by `rampart controller`")
                                         .c_str());
  std::printf("| API servers | %d (the agent on server-0; the bench%s on server-%d) |\n",
              flags_.servers, controller_ ? " and the controller" : "", flags_.servers - 1);
  std::printf("| creation requests done in | %.1f s (%.0f objects/s) |\n", create_s,
              (flags_.no_controller ? flags_.pods : flags_.pods / flags_.replicas) / create_s);
  std::printf("| all pods Running and Ready after | %.1f s (%.0f pods/s end to end) |\n",
              all_running_s, flags_.pods / all_running_s);
  std::printf("| pod startup (created → Ready, seen by a watch) p50 / p99 | %.0f ms / %.0f ms |\n",
              startup.at(50), startup.at(99));
  std::printf("| pods bound per second | %s |\n",
              flags_.no_controller ? "n/a (bound at creation)"
                                   : std::to_string(static_cast<int>(bind_rate)).c_str());
  std::printf("| API get p50 / p99 (%zu calls) | %s |\n", api_get_.ms.size(),
              api_get_.p50p99().c_str());
  std::printf("| API create p50 / p99 (%zu calls) | %s |\n", api_create_.ms.size(),
              api_create_.p50p99().c_str());
  std::printf("| API update p50 / p99 (%zu calls) | %s |\n", api_update_.ms.size(),
              api_update_.p50p99().c_str());
  std::printf("| API probe errors | %d |\n", api_errors_);
  std::printf("| `kubectl get pods -A` (%zu lines) median / max of 3 | %.0f ms / %.0f ms |\n",
              lines, kubectl_ms.at(50), kubectl_ms.at(100));
  for (const auto& [name, mib] : rss) {
    std::printf("| peak RSS %s | %.0f MiB |\n", name.c_str(), mib);
  }
  std::printf("| etcd database size (member 0) | %.1f MiB |\n", db_mib);
  std::printf("| agent counters | `%s` |\n", agent_stats.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-controller") {
      flags.no_controller = true;
      continue;
    }
    if (i + 1 >= argc) {
      return usage(("missing value for " + a).c_str());
    }
    std::string v = argv[++i];
    if (a == "--nodes") {
      flags.nodes = std::atoi(v.c_str());
    } else if (a == "--pods") {
      flags.pods = std::atoi(v.c_str());
    } else if (a == "--replicas") {
      flags.replicas = std::atoi(v.c_str());
    } else if (a == "--servers") {
      flags.servers = std::atoi(v.c_str());
    } else if (a == "--lease-renew-interval") {
      flags.renew_interval = v;
    } else if (a == "--controller-flag") {
      flags.controller_flags.push_back(v);
    } else if (a == "--timeout") {
      flags.timeout_s = std::atoi(v.c_str());
    } else if (a == "--dir") {
      flags.dir = v;
    } else {
      return usage(("unknown flag " + a).c_str());
    }
  }
  if (flags.nodes < 1 || flags.pods < 1 || flags.replicas < 1 || flags.servers < 1 ||
      flags.servers > 2 || flags.timeout_s < 1 || !parseDuration(flags.renew_interval)) {
    return usage("bad value");
  }
  bool made_dir = flags.dir.empty();
  if (made_dir) {
    char tmpl[] = "/tmp/rampart-cluster-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      return usage("cannot make a temporary directory");
    }
    flags.dir = tmpl;
  }
  log::init(log::Options{log::Format::Text, spdlog::level::warn});
  int code;
  {
    Bench bench(flags);
    code = bench.run();
  }
  if (made_dir && code == 0) {
    std::error_code ec;
    fs::remove_all(flags.dir, ec);
  } else if (made_dir) {
    std::fprintf(stderr, "cluster_bench: logs kept in %s\n", flags.dir.c_str());
  }
  return code;
}

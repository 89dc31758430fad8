#include "chaos/cluster_run.h"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/runtime/node_cleanup.h"
#include "chaos/cluster_fault_io.h"
#include "cluster/api_probe.h"
#include "cluster/credentials.h"
#include "cluster/http_call.h"
#include "cluster/layout.h"
#include "cluster/state.h"
#include "runtime/process.h"

namespace rampart::chaos {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kLeasePath =
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rampart-controller";

// Reads the API through the kubectl gateway on the host's loopback (the way an operator's
// kubectl does), with a short deadline so a stalled master delays one sample, not the run.
class Gateway {
 public:
  Gateway(const cluster::ClusterState& state, const std::string& dir, std::string token)
      : endpoint_{"127.0.0.1", state.gateway_port, true} {
    call_.tls.ca = cluster::caFile(dir);
    call_.bearer = std::move(token);
    call_.timeout = 1s;
  }

  std::optional<json> get(const std::string& path) const {
    auto call = call_;
    call.path = path;
    auto r = cluster::httpCall(endpoint_, call);
    if (!r || r->status != 200) {
      return std::nullopt;
    }
    auto j = json::parse(r->body, nullptr, false);
    return j.is_object() ? std::optional<json>(std::move(j)) : std::nullopt;
  }

  std::string holder() const {
    auto lease = get(kLeasePath);
    return lease ? (*lease)["spec"].value("holderIdentity", "") : "";
  }

  std::optional<std::vector<PodView>> pods() const {
    auto list = get("/api/v1/pods");
    if (!list || !(*list)["items"].is_array()) {
      return std::nullopt;
    }
    std::vector<PodView> pods;
    for (const auto& p : (*list)["items"]) {
      PodView v;
      v.ns = p["metadata"].value("namespace", "");
      v.name = p["metadata"].value("name", "");
      v.node = p["spec"].value("nodeName", "");
      for (const auto& o : p["metadata"].value("ownerReferences", json::array())) {
        if (o.value("controller", false) || v.owner.empty()) {
          v.owner = o.value("kind", "") + "/" + o.value("name", "");
        }
      }
      bool deleting = p["metadata"].contains("deletionTimestamp");
      for (const auto& c : p["status"].value("conditions", json::array())) {
        if (c.value("type", "") == "Ready") {
          v.ready = !deleting && c.value("status", "") == "True";
        }
      }
      pods.push_back(std::move(v));
    }
    return pods;
  }

 private:
  net::Endpoint endpoint_;
  cluster::HttpCall call_;
};

// Polls the Lease holder and the pods until stopped.
class Observer {
 public:
  explicit Observer(const Gateway& gateway) : gateway_(gateway) {}
  ~Observer() { stop(); }

  void start() {
    thread_ = std::thread([this] {
      while (!stopping_) {
        auto next = Clock::now() + 100ms;
        std::string holder = gateway_.holder();
        HolderSample h{Clock::now(), holder};  // when the answer was in: an upper bound
        auto pods = gateway_.pods();
        {
          std::lock_guard lock(mutex_);
          holders_.push_back(std::move(h));
          if (pods) {
            pod_samples_.push_back({Clock::now(), std::move(*pods)});
          }
        }
        std::this_thread::sleep_until(next);
      }
    });
  }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  void copyInto(ClusterObservations& obs) const {
    std::lock_guard lock(mutex_);
    obs.holders = holders_;
    obs.pod_samples = pod_samples_;
  }

 private:
  const Gateway& gateway_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<HolderSample> holders_;
  std::vector<PodSample> pod_samples_;
};

std::vector<pid_t> podProcesses(const std::vector<std::string>& nodes) {
  std::vector<pid_t> pids;
  for (const auto& n : nodes) {
    auto p = agent::runtime::nodePodProcesses(n);
    pids.insert(pids.end(), p.begin(), p.end());
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

bool cancelled(const ClusterRunOptions& o) { return o.cancel && o.cancel->load(); }

// Sleeps until `until` in short steps, so a cancel is seen within 50 ms.
void sleepUntil(const ClusterRunOptions& o, Clock::time_point until) {
  while (Clock::now() < until && !cancelled(o)) {
    std::this_thread::sleep_for(std::min<Duration>(50ms, until - Clock::now()));
  }
}

bool statusHealthy(const ClusterRunOptions& o) {
  auto r = runtime::runCommand({o.binary, "status", "--dir", o.dir, "--json"}, 30s);
  auto brace = r.output.find('{');
  if (brace == std::string::npos) {
    return false;
  }
  auto j = json::parse(r.output.substr(brace), nullptr, false);
  return j.is_object() && j.value("healthy", false);
}

void say(const ClusterRunOptions& o, const std::string& line) {
  if (o.progress) {
    o.progress(line);
  }
}

}  // namespace

Result<ClusterRunReport> runClusterFault(const ClusterRunOptions& o) {
  auto state = cluster::loadState(o.dir);
  if (!state) {
    return fail(state.error());
  }
  if (state->gateway_port == 0) {
    return fail(ErrorCode::FailedPrecondition, "cluster ", state->name,
                " has no kubectl gateway port in ", cluster::stateFile(o.dir));
  }
  auto tokens = cluster::readTokens(o.dir);
  if (!tokens) {
    return fail(tokens.error());
  }
  Gateway gateway(*state, o.dir, tokens->admin);

  ClusterRunReport report;
  auto& obs = report.observations;
  // The facts the plan depends on; a cluster that does not answer within 10 s is not one to
  // inject faults into.
  auto until = Clock::now() + 10s;
  std::optional<std::vector<PodView>> pods;
  while (Clock::now() < until && (obs.holder_before.empty() || !pods) && !cancelled(o)) {
    if (obs.holder_before.empty()) {
      obs.holder_before = gateway.holder();
    }
    if (!pods) {
      pods = gateway.pods();
    }
    if (obs.holder_before.empty() || !pods) {
      std::this_thread::sleep_for(100ms);
    }
  }
  if (obs.holder_before.empty() || !pods) {
    return fail(ErrorCode::Unavailable, "cluster ", state->name,
                " does not answer through its gateway (127.0.0.1:",
                std::to_string(state->gateway_port), "): no controller Lease or pod list in 10 s");
  }
  obs.pods_before = *pods;
  PlanFacts facts;
  facts.controller_holder = obs.holder_before;
  for (const auto& p : obs.pods_before) {
    if (p.ready && p.owner.starts_with("ReplicaSet/")) {
      ++facts.pods_by_node[p.node];
    }
  }
  auto plan = planFault(*state, o.kind, o.target, facts);
  if (!plan) {
    return fail(plan.error());
  }
  obs.plan = *plan;
  say(o, "fault " + faultName(o.kind) + ": " + plan->summary + "; client in " + plan->probe_node +
             "; controller " + obs.holder_before);

  cluster::ApiProbeOptions probe_options;
  probe_options.netns = plan->probe_node;
  probe_options.host = cluster::kApiVip;
  probe_options.port = cluster::kApiPort;
  probe_options.ca_file = cluster::caFile(o.dir);
  probe_options.token = tokens->admin;
  cluster::ApiProbe probe(probe_options);
  if (auto r = probe.start(); !r) {
    return fail(r.error());
  }
  Observer observer(gateway);
  observer.start();
  obs.pod_pids_before = podProcesses(plan->survivors);
  sleepUntil(o, Clock::now() + o.before);

  obs.fault_at = Clock::now();
  auto injected = injectFault(*plan);
  if (!injected) {
    // Partially injected (a kill that reached some processes) still needs the heal.
    HealOptions heal{o.dir, o.binary, o.heal_timeout};
    (void)healFault(*plan, Injected{}, heal);
    probe.stop();
    observer.stop();
    return fail(injected.error());
  }
  say(o, "injected: " + std::to_string(injected->signalled.size()) + " processes signalled");

  // Hold the fault for `duration`, and on while an expected effect has not shown yet: the
  // handover (the fault hits the acting controller) and the pods' replacement, each until its
  // limit. Bounded by max(duration, handover limit, replacement limit).
  bool want_handover = plan->hits_controller && plan->api_stays_available;
  bool want_replacement = plan->api_stays_available && plan->kind.action != FaultAction::KillEtcd &&
                          !lostPods(obs.pods_before, plan->nodes).empty();
  while (!cancelled(o)) {
    auto elapsed = Clock::now() - obs.fault_at;
    ClusterObservations now = obs;
    observer.copyInto(now);
    bool handover_pending = want_handover && !handoverTime(now) && elapsed < o.limits.handover;
    bool replacement_pending =
        want_replacement && !replacementTime(now) && elapsed < o.limits.replacement;
    if (elapsed >= o.duration && !handover_pending && !replacement_pending) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  obs.pod_pids_during = podProcesses(plan->survivors);

  obs.heal_at = Clock::now();
  say(o, "healing");
  HealOptions heal{o.dir, o.binary, o.heal_timeout};
  if (auto r = healFault(*plan, *injected, heal); !r) {
    report.heal_error = r.error().message;
    say(o, "heal failed: " + report.heal_error);
  }
  auto healthy_until = Clock::now() + o.heal_timeout;
  while (Clock::now() < healthy_until && !cancelled(o)) {
    if (statusHealthy(o)) {
      obs.healthy_at = Clock::now();
      break;
    }
    std::this_thread::sleep_for(200ms);
  }
  say(o, obs.healthy_at ? "healthy again" : "not healthy after the heal");
  sleepUntil(o, Clock::now() + o.after);
  probe.stop();
  observer.stop();
  obs.end = Clock::now();
  obs.probe = probe.samples();
  observer.copyInto(obs);
  if (!o.statefulset_history.empty()) {
    std::ifstream in(o.statefulset_history);
    std::stringstream text;
    text << in.rdbuf();
    obs.statefulset_history = in ? text.str() : std::string();
  }
  report.verdict = judge(obs, o.limits);
  return report;
}

}  // namespace rampart::chaos

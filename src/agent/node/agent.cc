#include "agent/node/agent.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/backoff.h"
#include "agent/node/claim_volumes.h"
#include "agent/node/pod_config.h"
#include "agent/node_spec.h"
#include "agent/pod_status.h"
#include "agent/probe/local_exec.h"
#include "agent/runtime/enter.h"
#include "agent/runtime/fence.h"
#include "agent/services/service_proxy.h"
#include "base/log.h"
#include "controller/taints.h"
#include "kube/resources.h"

namespace rampart::agent::node {
namespace asio = boost::asio;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

void logInfo(const std::string& message) { log::get("agent")->info("{}", message); }
void logWarn(const std::string& message) { log::get("agent")->warn("{}", message); }

std::string str(const json& object, const char* pointer) {
  return object.value(json::json_pointer(pointer), std::string());
}

bool hostNetwork(const json& pod) {
  return pod.value("/spec/hostNetwork"_json_pointer, false);
}

bool deleting(const json& pod) {
  return pod.contains("/metadata/deletionTimestamp"_json_pointer) &&
         !pod["metadata"]["deletionTimestamp"].is_null();
}

bool terminal(const json& pod) {
  std::string phase = str(pod, "/status/phase");
  return phase == "Succeeded" || phase == "Failed";
}

std::string podPath(const json& pod) {
  return "/api/v1/namespaces/" + str(pod, "/metadata/namespace") + "/pods/" +
         str(pod, "/metadata/name");
}

ObservedContainer observed(const runtime::ContainerState& c) {
  ObservedContainer o;
  o.attempt = c.attempt;
  o.running = c.running;
  o.started_at = c.started_at;
  o.finished_at = c.finished_at;
  o.exit_code = c.exit_code;
  o.reason = c.reason;
  o.message = c.message;
  return o;
}

const json* findContainer(const json& pod, const std::string& name, bool* init) {
  for (const char* list : {"initContainers", "containers"}) {
    auto pointer = json::json_pointer(std::string("/spec/") + list);
    if (!pod.contains(pointer) || !pod[pointer].is_array()) {
      continue;
    }
    for (const json& c : pod[pointer]) {
      if (c.value("name", "") == name) {
        if (init != nullptr) {
          *init = std::string(list) == "initContainers";
        }
        return &c;
      }
    }
  }
  return nullptr;
}

// The log files of one attempt, oldest first: <attempt>.log.<n-1> … <attempt>.log.1, <attempt>.log.
std::vector<std::string> attemptLogs(const std::string& path, int max_files) {
  std::vector<std::string> files;
  for (int i = max_files - 1; i >= 1; --i) {
    std::string rotated = path + "." + std::to_string(i);
    if (::access(rotated.c_str(), R_OK) == 0) {
      files.push_back(rotated);
    }
  }
  if (::access(path.c_str(), R_OK) == 0) {
    files.push_back(path);
  }
  return files;
}

}  // namespace

Agent::Agent(asio::any_io_executor executor, kube::Client& client, const Clock& clock,
             WallClock wall_clock, AgentOptions options, runtime::Runtime& runtime,
             podnet::PodNetwork* network, services::ServiceProxy* proxy)
    : executor_(executor),
      client_(client),
      clock_(clock),
      wall_clock_(std::move(wall_clock)),
      options_(std::move(options)),
      runtime_(runtime),
      network_(network),
      proxy_(proxy),
      services_wake_(std::make_unique<asio::steady_timer>(executor)),
      wake_(std::make_unique<asio::steady_timer>(executor)) {
  if (options_.services.node_ip.empty()) {
    options_.services.node_ip = options_.node.internal_ip;
  }
  kube::InformerOptions pod_options;
  pod_options.field_selector = "spec.nodeName=" + options_.node.name;
  pods_ = std::make_unique<kube::Informer>(client_, kube::resources::kPods, pod_options);
  config_maps_ = std::make_unique<kube::Informer>(client_, kube::resources::kConfigMaps);
  secrets_ = std::make_unique<kube::Informer>(client_, kube::resources::kSecrets);
  services_ = std::make_unique<kube::Informer>(client_, kube::resources::kServices);
  nodes_ = std::make_unique<kube::Informer>(client_, kube::resources::kNodes);
  claims_ = std::make_unique<kube::Informer>(client_, kube::resources::kPersistentVolumeClaims);
  pods_->addHandler([this](kube::Informer::Change, const json* before, const json* after) {
    const json* pod = after != nullptr ? after : before;
    if (pod != nullptr) {
      markDirty(podKey(*pod));
    }
  });
  auto by_namespace = [this](kube::Informer::Change, const json* before, const json* after) {
    const json* object = after != nullptr ? after : before;
    if (object != nullptr) {
      markNamespaceDirty(str(*object, "/metadata/namespace"));
    }
  };
  config_maps_->addHandler(by_namespace);
  secrets_->addHandler(by_namespace);
  claims_->addHandler(by_namespace);  // a pod waiting for its claim
  services_->addHandler(by_namespace);
  if (proxy_ != nullptr) {
    endpoints_ = std::make_unique<kube::Informer>(client_, kube::resources::kEndpoints);
    auto services_changed = [this](kube::Informer::Change, const json*, const json*) {
      markServicesDirty();
    };
    services_->addHandler(services_changed);
    endpoints_->addHandler(services_changed);
  }
  probes_ = std::make_unique<probe::ProbeManager>(
      executor_, [this](const std::string& uid, const std::string& container,
                        const probe::ProbeStatus& status) {
        auto it = pods_by_uid_.find(uid);
        if (it == pods_by_uid_.end()) {
          return;
        }
        it->second.health[container] =
            ContainerHealth{status.started, status.ready, status.restart_needed, status.message};
        markDirty(it->second.key);
      });
  runtime_.setOnChange([this] { asio::post(executor_, [this] { markAllDirty(); }); });
}

Agent::~Agent() {
  probes_->stop();
  runtime_.setOnChange(nullptr);
  blocking_.join();
}

asio::awaitable<Result<void>> Agent::start() {
  auto recovered = runtime_.recover();
  if (!recovered) {
    co_return tl::unexpected(recovered.error());
  }
  for (const auto& c : *recovered) {
    pods_by_uid_[c.pod_uid];  // its pod is found again by the first sync, or stopped
  }
  if (!recovered->empty()) {
    logInfo("agent: found " + std::to_string(recovered->size()) +
            " containers of an earlier run; they keep running");
  }
  // The API may not answer yet (the node's VIP, or every master, still starting; a cluster
  // coming back after an outage): like the kubelet, keep trying, backing off to 5 s, and tell
  // the operator what fails. Pods recovered above keep running meanwhile.
  Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
  std::string last;
  while (true) {
    auto registered = co_await registerNode();
    if (registered || stopping_) {
      co_return registered;
    }
    if (registered.error().message != last) {
      last = registered.error().message;
      logWarn("agent: cannot register yet (retrying): " + last);
    }
    co_await sleepFor(backoff.next());
  }
}

asio::awaitable<Result<void>> Agent::registerNode() {
  auto facts = readMachine();
  if (!facts) {
    co_return tl::unexpected(facts.error());
  }
  json node = makeNode(options_.node, *facts, wall_clock_());
  node_conditions_ = node["status"]["conditions"];
  const std::string path = "/api/v1/nodes/" + options_.node.name;
  auto created = co_await client_.call("POST", "/api/v1/nodes", node.dump());
  if (!created) {
    co_return tl::unexpected(created.error());
  }
  if (created->status == 409) {
    // Registered before (an agent restart): labels and taints as configured now, status fresh.
    json patch = {{"metadata", {{"labels", node["metadata"]["labels"]}}}};
    if (node["spec"].contains("taints")) {
      patch["spec"] = {{"taints", node["spec"]["taints"]}};
    }
    auto patched = co_await client_.call("PATCH", path, patch.dump(),
                                         "application/merge-patch+json");
    if (!patched || !patched->ok()) {
      co_return fail(ErrorCode::Unavailable, "cannot update node ", options_.node.name, ": ",
                     patched ? patched->message() : patched.error().message);
    }
    std::string status_patch = json{{"status", node["status"]}}.dump();
    auto status = co_await client_.call("PATCH", path + "/status", status_patch,
                                        "application/merge-patch+json");
    if (!status || !status->ok()) {
      co_return fail(ErrorCode::Unavailable, "cannot update node ", options_.node.name,
                     " status: ", status ? status->message() : status.error().message);
    }
  } else if (!created->ok()) {
    co_return fail(ErrorCode::Unavailable, "cannot register node ", options_.node.name, ": ",
                   created->message());
  }
  json lease = makeNodeLease(options_.node.name, options_.lease_duration, wall_clock_());
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
  TimePoint lease_sent = clock_.now();
  auto put = co_await client_.call("PUT", leases + "/" + options_.node.name, lease.dump());
  if (put && put->status == 404) {
    put = co_await client_.call("POST", leases, lease.dump());
  }
  if (!put || !put->ok()) {
    co_return fail(ErrorCode::Unavailable, "cannot write the Lease of node ", options_.node.name,
                   ": ", put ? put->message() : put.error().message);
  }
  extendFence(lease_sent);
  logInfo("agent: node " + options_.node.name + " registered");
  co_return Result<void>{};
}

asio::awaitable<void> Agent::run() {
  auto spawn = [this](asio::awaitable<void> body) {
    ++running_;
    asio::co_spawn(
        executor_,
        [this, b = std::move(body)]() mutable -> asio::awaitable<void> {
          co_await std::move(b);
          --running_;
          wake_->cancel();
        },
        asio::detached);
  };
  spawn(leaseLoop());
  spawn(statusLoop());
  spawn(resyncLoop());
  spawn(claimLoop());
  spawn(runInformer(*claims_));
  spawn(runInformer(*config_maps_));
  spawn(runInformer(*secrets_));
  spawn(runInformer(*services_));
  spawn(runInformer(*pods_));
  if (network_ != nullptr) {
    spawn(runInformer(*nodes_));
    spawn(routeLoop());
  }
  if (proxy_ != nullptr) {
    spawn(runInformer(*endpoints_));
    spawn(serviceLoop());
  }
  while (running_ > 0 || std::any_of(workers_.begin(), workers_.end(),
                                     [](const auto& w) { return w.second.busy; })) {
    wake_->expires_after(std::chrono::milliseconds(200));
    co_await wake_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void Agent::stop() {
  stopping_ = true;
  pods_->stop();
  config_maps_->stop();
  secrets_->stop();
  claims_->stop();
  services_->stop();
  nodes_->stop();
  probes_->stop();
  if (proxy_ != nullptr) {
    endpoints_->stop();
    services_wake_->cancel();
    proxy_->stop();  // blocks for the `ip` runs that take the ClusterIPs off the loopback
  }
  wake_->cancel();
}

asio::awaitable<void> Agent::sleepFor(Duration d) {
  asio::steady_timer timer(executor_);
  timer.expires_after(d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> Agent::runInformer(kube::Informer& informer) { co_await informer.run(); }

// The Lease is the node's liveness for the controller: renewed every renew_interval. A renewal
// is a PUT of the whole Lease (holder = this node), so a Lease another writer changed is simply
// taken back; the controller reads only renewTime and the duration.
asio::awaitable<void> Agent::leaseLoop() {
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" +
                           options_.node.name;
  bool failing = false;
  while (!stopping_) {
    TimePoint sent = clock_.now();
    json lease = makeNodeLease(options_.node.name, options_.lease_duration, wall_clock_());
    kube::Client& client = options_.lease_client ? *options_.lease_client : client_;
    auto reply = co_await client.call("PUT", path, lease.dump());
    if (reply && reply->status == 404) {
      reply = co_await client.call(
          "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease.dump());
    }
    if (reply && reply->ok()) {
      ++stats_.leases_renewed;
      extendFence(sent);
      if (failing) {
        logInfo("agent: lease renewals succeed again");
        failing = false;
      }
    } else {
      ++stats_.lease_failures;
      if (!failing) {
        logWarn("agent: lease renewal failed: " +
                (reply ? reply->message() : reply.error().message));
        failing = true;
      }
    }
    Duration spent = clock_.now() - sent;
    co_await sleepFor(spent < options_.renew_interval ? options_.renew_interval - spent
                                                      : Duration::zero());
  }
}

void Agent::extendFence(TimePoint sent) {
  auto deadline = sent + options_.fence_after - runtime::kFenceMargin;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch());
  if (auto written = runtime::writeFenceDeadline(fenceFile(), ns.count()); !written) {
    logWarn("agent: " + written.error().message);
  }
}

asio::awaitable<void> Agent::statusLoop() {
  while (!stopping_) {
    co_await sleepFor(options_.status_interval);
    if (stopping_) {
      break;
    }
    auto facts = readMachine();
    if (!facts) {
      continue;
    }
    json conditions = nodeConditions(*facts, node_conditions_, wall_clock_());
    std::string patch = json{{"status", {{"conditions", conditions}}}}.dump();
    auto reply = co_await client_.call("PATCH", "/api/v1/nodes/" + options_.node.name + "/status",
                                       patch, "application/merge-patch+json");
    if (reply && reply->ok()) {
      node_conditions_ = std::move(conditions);
    }
  }
}

asio::awaitable<void> Agent::resyncLoop() {
  while (!stopping_) {
    co_await sleepFor(options_.resync_interval);
    if (!stopping_ && pods_->synced()) {
      markAllDirty();
    }
  }
}

// Removes the directories of claims that are gone (claim_volumes.h). Only with both caches
// synced: an unsynced claims cache would make every directory look orphaned.
asio::awaitable<void> Agent::claimLoop() {
  const std::string claims_root = options_.root_dir + "/volumes";
  while (!stopping_) {
    co_await sleepFor(std::chrono::seconds(1));
    if (stopping_ || !claims_->synced() || !pods_->synced()) {
      continue;
    }
    auto on_disk = listClaimDirs(claims_root);
    if (!on_disk) {
      logWarn("agent: " + on_disk.error().message);
      continue;
    }
    if (on_disk->empty()) {
      continue;
    }
    std::vector<const json*> all_claims;
    for (const auto& [key, claim] : claims_->items()) {
      all_claims.push_back(&claim);
    }
    std::set<ClaimDir> claims = claimsKeptOn(all_claims, options_.node.name);
    std::set<ClaimDir> in_use;
    for (const auto& [key, pod] : pods_->items()) {
      for (auto& c : claimsOfPod(pod)) {
        in_use.insert(std::move(c));
      }
    }
    std::vector<ClaimDir> stale = staleClaimDirs(*on_disk, claims, in_use);
    if (stale.empty()) {
      continue;
    }
    std::vector<std::string> paths;
    for (const auto& dir : stale) {
      paths.push_back(claimDirPath(claims_root, dir.ns, dir.claim));
      logInfo("agent: claim " + dir.ns + "/" + dir.claim + " is gone; removing its volume");
    }
    // remove_all of a claim's data may take long: off the loop.
    auto remove = [paths] {
      for (const auto& path : paths) {
        std::error_code ec;
        fs::remove_all(path, ec);
      }
    };
    auto task = [remove]() -> asio::awaitable<void> {
      remove();
      co_return;
    };
    co_await asio::co_spawn(blocking_.get_executor(), task(), asio::use_awaitable);
  }
}

asio::awaitable<void> Agent::routeLoop() {
  while (!stopping_) {
    co_await sleepFor(std::chrono::seconds(1));
    if (stopping_ || !nodes_->synced()) {
      continue;
    }
    std::vector<json> nodes;
    for (const auto& [name, node] : nodes_->items()) {
      nodes.push_back(node);
    }
    auto desired = podnet::desiredRoutes(options_.node.name, nodes);
    if (desired == routes_) {
      continue;
    }
    auto* network = network_;
    auto sync = [network, desired] { return network->syncRoutes(desired); };
    // The coroutine lambda is bound to a local first: a capturing lambda written inside a
    // co_await expression is destroyed twice by g++ 12 (a double free that crashed the agent).
    auto task = [sync]() -> asio::awaitable<Result<podnet::RouteSyncReport>> {
      co_return sync();
    };
    auto done = co_await asio::co_spawn(blocking_.get_executor(), task(), asio::use_awaitable);
    if (done) {
      routes_ = std::move(desired);
      logInfo("agent: routes to " + std::to_string(routes_.size()) + " other nodes' pods");
    } else {
      logWarn("agent: routes: " + done.error().message);
    }
  }
}

void Agent::markServicesDirty() {
  services_dirty_ = true;
  services_wake_->cancel();
}

// Changes come in bursts (a rollout: pods, then their Endpoints, one write per pod): after the
// first, the loop waits `services_debounce` and plans once from the caches as they are then.
// Plans are cheap and the proxy drops one equal to what runs, so the plan is also sent every
// 10 s without a change: an apply that failed (an address taken) is retried.
asio::awaitable<void> Agent::serviceLoop() {
  while (!stopping_) {
    if (!services_dirty_) {
      services_wake_->expires_after(std::chrono::seconds(10));
      co_await services_wake_->async_wait(asio::as_tuple(asio::use_awaitable));
      services_dirty_ = true;
    }
    co_await sleepFor(options_.services_debounce);
    if (stopping_) {
      break;
    }
    if (!services_->synced() || !endpoints_->synced()) {
      continue;  // a plan from half the picture would drop Services for a moment
    }
    services_dirty_ = false;
    std::vector<json> services;
    std::vector<json> endpoints;
    services.reserve(services_->items().size());
    for (const auto& [key, service] : services_->items()) {
      services.push_back(service);
    }
    endpoints.reserve(endpoints_->items().size());
    for (const auto& [key, object] : endpoints_->items()) {
      endpoints.push_back(object);
    }
    auto plan = services::planServices(services, endpoints, options_.services);
    if (plan.skipped != services_skipped_) {
      for (const auto& line : plan.skipped) {
        if (std::find(services_skipped_.begin(), services_skipped_.end(), line) ==
            services_skipped_.end()) {
          logWarn("agent: services: not served: " + line);
        }
      }
      services_skipped_ = plan.skipped;
    }
    // The future is not awaited: the proxy logs a failed apply, and the next plan retries.
    proxy_->update(std::move(plan.config), std::move(plan.fingerprint));
  }
}

void Agent::markDirty(const std::string& key) {
  if (stopping_) {
    return;
  }
  Worker& worker = workers_[key];
  if (worker.busy) {
    worker.dirty = true;
    return;
  }
  worker.busy = true;
  // Started from the loop, never inline: markDirty is called from the runtime's, the probes'
  // and the informers' callbacks, which must not be re-entered by a sync.
  asio::post(executor_, [this, key] { asio::co_spawn(executor_, podWorker(key), asio::detached); });
}

// Keys are collected before any worker starts: a worker may run at once, up to its first wait,
// and what it does (a pod cleaned up) changes the maps iterated here.
void Agent::markNamespaceDirty(const std::string& ns) {
  std::vector<std::string> keys;
  for (const auto& [key, uid] : uid_of_) {
    if (key.rfind(ns + "/", 0) == 0) {
      keys.push_back(key);
    }
  }
  for (const auto& key : keys) {
    markDirty(key);
  }
}

void Agent::markAllDirty() {
  if (!pods_->synced()) {
    return;
  }
  std::vector<std::string> keys;
  for (const auto& [key, pod] : pods_->items()) {
    keys.push_back(key);
  }
  // Pods the agent still runs whose object is gone.
  for (const auto& [key, uid] : uid_of_) {
    keys.push_back(key);
  }
  // Containers recovered from an earlier run whose pod this agent has not seen.
  for (const auto& [uid, state] : pods_by_uid_) {
    if (state.key.empty()) {
      keys.push_back("uid:" + uid);
    }
  }
  for (const auto& key : keys) {
    markDirty(key);
  }
}

asio::awaitable<void> Agent::podWorker(std::string key) {
  do {
    workers_[key].dirty = false;
    co_await syncOne(key);
  } while (!stopping_ && workers_[key].dirty);
  workers_[key].busy = false;
  if (!uid_of_.count(key) && (pods_->get(key) == nullptr)) {
    workers_.erase(key);
  }
  wake_->cancel();
}

std::string Agent::podDir(const std::string& uid) const {
  return options_.root_dir + "/pods/" + uid;
}

PodObjects Agent::objectsFor(const std::string& ns) const {
  PodObjects objects;
  objects.config_map = [this, ns](const std::string& name) {
    return config_maps_->get(ns + "/" + name);
  };
  objects.secret = [this, ns](const std::string& name) { return secrets_->get(ns + "/" + name); };
  objects.claim = [this, ns](const std::string& name) { return claims_->get(ns + "/" + name); };
  objects.claims_dir = options_.root_dir + "/volumes";
  objects.node_name = options_.node.name;
  objects.services = services_->inNamespace(ns);
  objects.kubernetes_service = services_->get("default/kubernetes");
  if (ns == "default") {
    objects.kubernetes_service = nullptr;  // already among the namespace's services
  }
  return objects;
}

// Stops every container of pod `uid`, then frees what it held: probes, network, cgroups, state
// and logs. For a pod whose object is gone (deleted by force, or a leftover of an earlier run).
asio::awaitable<void> Agent::cleanUp(std::string uid, Duration grace) {
  // A named copy, not a range over a temporary: g++ 12 may destroy such a temporary twice
  // when the loop's body suspends.
  std::vector<runtime::ContainerState> containers = runtime_.containers();
  for (const auto& c : containers) {
    if (c.pod_uid == uid) {
      probes_->remove(uid, c.name);
      if (c.running) {
        KillContainer kill{c.name, grace, "Killing"};
        co_await killContainer(uid, kill);
      }
    }
  }
  auto removed = co_await runtime_.removePod(uid);
  if (!removed) {
    logWarn("agent: removing pod " + uid + ": " + removed.error().message);
  }
  if (network_ != nullptr) {
    auto* network = network_;
    auto detach = [network, uid] { return network->detach(uid); };
    auto task = [detach]() -> asio::awaitable<Result<void>> { co_return detach(); };
    auto done = co_await asio::co_spawn(blocking_.get_executor(), task(), asio::use_awaitable);
    if (!done) {
      logWarn("agent: removing the network of pod " + uid + ": " + done.error().message);
    }
  }
  std::error_code ec;
  fs::remove_all(podDir(uid), ec);
  auto state = pods_by_uid_.find(uid);
  if (state != pods_by_uid_.end()) {
    if (!state->second.key.empty() && uid_of_[state->second.key] == uid) {
      uid_of_.erase(state->second.key);
    }
    pods_by_uid_.erase(state);
  }
}

asio::awaitable<Result<void>> Agent::ensureNetwork(const json& pod, PodState& state) {
  if (state.net || hostNetwork(pod)) {
    co_return Result<void>{};
  }
  if (network_ == nullptr) {
    co_return Result<void>{};  // no pod network: every pod shares the node's (see podIp())
  }
  std::string uid = str(pod, "/metadata/uid");
  auto* network = network_;
  auto attach = [network, uid] { return network->attach(uid); };
  auto task = [attach]() -> asio::awaitable<Result<podnet::PodNet>> { co_return attach(); };
  auto net = co_await asio::co_spawn(blocking_.get_executor(), task(), asio::use_awaitable);
  if (!net) {
    co_return tl::unexpected(net.error());
  }
  state.net = *net;
  co_return Result<void>{};
}

Result<void> Agent::writeVolumes(const std::vector<VolumePlan>& volumes) {
  for (const auto& volume : volumes) {
    std::error_code ec;
    if (volume.kind == VolumePlan::Kind::HostPath) {
      const std::string& type = volume.host_path_type;
      if (type == "DirectoryOrCreate") {
        fs::create_directories(volume.host_path, ec);
      } else if (type == "FileOrCreate" && !fs::exists(volume.host_path)) {
        fs::create_directories(fs::path(volume.host_path).parent_path(), ec);
        std::ofstream(volume.host_path).close();
      } else if ((type == "Directory" && !fs::is_directory(volume.host_path)) ||
                 (type == "File" && !fs::is_regular_file(volume.host_path))) {
        return fail(ErrorCode::NotFound, "hostPath type check failed: ", volume.host_path,
                    " is not a ", type == "File" ? "file" : "directory");
      }
      continue;
    }
    fs::create_directories(volume.host_path, ec);
    if (ec) {
      return fail(ErrorCode::Internal, "cannot create ", volume.host_path, ": ", ec.message());
    }
    if (volume.kind == VolumePlan::Kind::Claim) {
      // 0755 as the brief of local volumes: the claim's data outlives the pod; only the
      // directory itself is made here, its content is the pods'.
      ::chmod(volume.host_path.c_str(), 0755);
      continue;
    }
    // emptyDir is writable by any user a container runs as (as the kubelet makes it: 0777).
    ::chmod(volume.host_path.c_str(), volume.kind == VolumePlan::Kind::EmptyDir ? 0777 : 0755);
    for (const auto& file : volume.files) {
      fs::path path = fs::path(volume.host_path) / file.path;
      fs::create_directories(path.parent_path(), ec);
      std::string tmp = path.string() + ".tmp";
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                      file.mode);
      if (fd < 0) {
        return fail(ErrorCode::Internal, "cannot write ", tmp);
      }
      ::fchmod(fd, file.mode);
      bool ok = ::write(fd, file.content.data(), file.content.size()) ==
                static_cast<ssize_t>(file.content.size());
      ::close(fd);
      if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail(ErrorCode::Internal, "cannot write ", path.string());
      }
    }
  }
  return {};
}

probe::ExecFn Agent::execIn(pid_t target) {
  return probe::execWith(executor_, [target](std::vector<std::string> argv) -> Result<pid_t> {
    runtime::EnterOptions options;
    options.target = target;
    options.argv = std::move(argv);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    options.stdin_fd = null;
    options.stdout_fd = null;
    options.stderr_fd = null;
    auto pid = runtime::spawnInContainer(options);
    ::close(null);
    return pid;
  });
}

asio::awaitable<void> Agent::syncOne(const std::string& key) {
  ++stats_.syncs;
  if (key.rfind("uid:", 0) == 0) {
    // A leftover of an earlier run whose pod is not (or no longer) bound here.
    std::string uid = key.substr(4);
    auto state = pods_by_uid_.find(uid);
    bool known = std::any_of(pods_->items().begin(), pods_->items().end(),
                             [&](const auto& item) { return str(item.second, "/metadata/uid") == uid; });
    if (state != pods_by_uid_.end() && state->second.key.empty() && !known) {
      logInfo("agent: stopping the containers of pod " + uid + ", which is no longer bound here");
      co_await cleanUp(uid, std::chrono::seconds(2));
    }
    co_return;
  }
  const json* found = pods_->get(key);
  auto known_uid = uid_of_.find(key);
  std::string uid = found != nullptr ? str(*found, "/metadata/uid") : std::string();
  if (known_uid != uid_of_.end() && known_uid->second != uid) {
    // The object is gone (deleted with grace 0 by someone else), or replaced by a new pod of
    // the same name: what ran for the old one stops now.
    std::string old = known_uid->second;
    co_await cleanUp(old, std::chrono::seconds(2));
  }
  if (found == nullptr) {
    co_return;
  }
  json pod = *found;  // a copy: the cache may change while this sync waits
  PodState& state = pods_by_uid_[uid];
  state.key = key;
  uid_of_[key] = uid;

  bool gone = deleting(pod) || terminal(pod);
  std::string network_error;
  if (!gone) {
    auto net = co_await ensureNetwork(pod, pods_by_uid_[uid]);
    if (!net) {
      network_error = net.error().message;
    }
  }
  auto it = pods_by_uid_.find(uid);
  if (it == pods_by_uid_.end()) {
    co_return;
  }
  PodState& st = it->second;

  PodFacts facts;
  facts.pod = pod;
  facts.host_ip = hostIp();
  bool shared_network = hostNetwork(pod) || network_ == nullptr;
  facts.pod_ip = shared_network ? hostIp() : (st.net ? st.net->ip : "");
  facts.network_ready = network_error.empty() && (shared_network || st.net.has_value());
  facts.wall_now = wall_clock_();
  facts.now = clock_.now();

  std::map<std::string, runtime::ContainerState> current;
  for (const auto& c : runtime_.containers()) {
    if (c.pod_uid == uid) {
      current[c.name] = c;
      facts.current[c.name] = observed(c);
    }
  }
  for (const auto& [name, c] : st.previous) {
    facts.previous[name] = observed(c);
  }
  // Exits count towards the back-off once each; the first restart is immediate, then
  // initial · 2^(n-2) (the kubelet's 0, 10 s, 20 s, … 300 s).
  for (const auto& [name, c] : current) {
    if (c.running || st.exit_seen[name] == c.attempt) {
      continue;
    }
    st.exit_seen[name] = c.attempt;
    auto [entry, inserted] = st.backoff.try_emplace(name, options_.backoff);
    Duration ran = c.finished_at ? std::chrono::duration_cast<Duration>(*c.finished_at - c.started_at)
                                 : Duration::zero();
    entry->second.recordExit(facts.now - ran, facts.now);
    probes_->remove(uid, name);
    st.health.erase(name);
  }
  for (auto& [name, backoff] : st.backoff) {
    int exits = backoff.consecutiveExits();
    if (exits <= 1) {
      continue;  // the first restart is immediate
    }
    Duration delay = runtime::crashLoopDelay(options_.backoff, exits - 1);
    auto at = current.find(name);
    TimePoint exited_at = facts.now;
    if (at != current.end() && at->second.finished_at) {
      exited_at = facts.now - std::chrono::duration_cast<Duration>(facts.wall_now - *at->second.finished_at);
    }
    facts.backoff[name] = BackOff{exited_at + delay, delay};
  }
  for (const auto& [name, health] : st.health) {
    facts.health[name] = health;
  }

  // Configuration of every container that may be started now.
  std::map<std::string, ResolvedContainer> resolved;
  std::vector<VolumePlan> volumes;
  std::string ns = str(pod, "/metadata/namespace");
  if (!gone && facts.network_ready) {
    PodObjects objects = objectsFor(ns);
    auto planned = planVolumes(pod, objects, podDir(uid));
    std::string volume_error;
    if (!planned) {
      volume_error = planned.error().message;
    } else {
      volumes = std::move(*planned);
      if (!st.volumes_ready) {
        auto written = writeVolumes(volumes);
        if (!written) {
          volume_error = written.error().message;
        } else {
          st.volumes_ready = true;
        }
      }
    }
    for (const char* list : {"initContainers", "containers"}) {
      auto pointer = json::json_pointer(std::string("/spec/") + list);
      if (!pod.contains(pointer) || !pod[pointer].is_array()) {
        continue;
      }
      for (const json& container : pod[pointer]) {
        std::string name = container.value("name", "");
        auto running = current.find(name);
        if (running != current.end() && running->second.running) {
          continue;
        }
        if (!volume_error.empty()) {
          facts.config_errors[name] = volume_error;
          continue;
        }
        auto r = resolveContainer(pod, container, objects, volumes, facts.pod_ip, facts.host_ip);
        if (!r) {
          facts.config_errors[name] = r.error().message;
        } else {
          resolved[name] = std::move(*r);
        }
      }
    }
  }

  SyncAction action = syncPod(facts);

  if (!network_error.empty() && !gone) {
    logWarn("agent: pod " + key + ": " + network_error);
  }
  // Kills first (in parallel: a pod's containers share one grace period), then starts.
  if (!action.kill.empty()) {
    int pending = static_cast<int>(action.kill.size());
    asio::steady_timer all_done(executor_);
    all_done.expires_at(asio::steady_timer::time_point::max());
    for (const auto& kill : action.kill) {
      asio::co_spawn(
          executor_,
          [this, uid, kill, &pending, &all_done]() -> asio::awaitable<void> {
            co_await killContainer(uid, kill);
            if (--pending == 0) {
              all_done.cancel();
            }
          },
          asio::detached);
    }
    if (pending > 0) {
      co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  for (const auto& start : action.start) {
    auto r = resolved.find(start.name);
    if (r == resolved.end()) {
      continue;
    }
    auto previous = current.find(start.name);
    if (previous != current.end()) {
      pods_by_uid_[uid].previous[start.name] = previous->second;
    }
    co_await startContainer(pod, start, r->second, facts.pod_ip);
  }
  if (action.status) {
    co_await writeStatus(pod, *action.status);
  }
  if (action.release && pods_by_uid_.count(uid) > 0) {
    for (const auto& [name, c] : current) {
      probes_->remove(uid, name);
    }
  }
  if (action.final_delete) {
    co_await finalDelete(pod);
  }
  if (!action.start.empty() || !action.kill.empty()) {
    markDirty(key);  // report what the starts and kills did
  }
}

asio::awaitable<void> Agent::startContainer(json pod, StartContainer start,
                                            ResolvedContainer resolved, std::string pod_ip) {
  std::string uid = str(pod, "/metadata/uid");
  runtime::ContainerConfig config;
  config.pod_uid = uid;
  config.pod_namespace = str(pod, "/metadata/namespace");
  config.pod_name = str(pod, "/metadata/name");
  config.name = start.name;
  config.attempt = start.attempt;
  config.argv = std::move(resolved.argv);
  config.env = std::move(resolved.env);
  config.working_dir = std::move(resolved.working_dir);
  config.run_as_user = resolved.run_as_user;
  config.run_as_group = resolved.run_as_group;
  auto state = pods_by_uid_.find(uid);
  if (state != pods_by_uid_.end() && state->second.net) {
    config.netns_path = state->second.net->netns_path;
  }
  for (const auto& m : resolved.mounts) {
    config.mounts.push_back({m.source, m.target, m.read_only});
  }
  if (!controller::replaceableBeforeFencing(pod)) {
    config.fence_file = fenceFile();
  }
  config.resources.memory_limit_bytes = resolved.resources.memory_limit_bytes;
  config.resources.cpu_request_milli = resolved.resources.cpu_request_milli;
  config.resources.cpu_limit_milli = resolved.resources.cpu_limit_milli;
  auto started = co_await runtime_.start(std::move(config));
  if (!started) {
    logWarn("agent: pod " + podKey(pod) + ": cannot start container " + start.name + ": " +
            started.error().message);
    co_return;
  }
  ++stats_.containers_started;
  if (!started->running) {
    co_return;
  }
  bool init = false;
  const json* spec = findContainer(pod, start.name, &init);
  if (spec == nullptr || init) {
    co_return;
  }
  auto timing = probe::timingFromAnnotations(pod.value("metadata", json::object()));
  if (!timing) {
    logWarn("agent: pod " + podKey(pod) + ": " + timing.error().message);
    co_return;
  }
  auto specs = probe::parseContainerProbes(*spec, *timing, "spec.containers[" + start.name + "]");
  if (!specs) {
    logWarn("agent: pod " + podKey(pod) + ": " + specs.error().message);
    co_return;
  }
  state = pods_by_uid_.find(uid);
  if (state == pods_by_uid_.end()) {
    co_return;
  }
  probe::ProbeStatus initial =
      probes_->add(uid, start.name, *specs, clock_.now(), pod_ip, execIn(started->pid));
  state->second.health[start.name] =
      ContainerHealth{initial.started, initial.ready, initial.restart_needed, initial.message};
}

asio::awaitable<void> Agent::killContainer(std::string uid, KillContainer kill) {
  probes_->remove(uid, kill.name);
  auto stopped = co_await runtime_.stop(uid, kill.name, kill.grace);
  if (!stopped && stopped.error().code != ErrorCode::NotFound) {
    logWarn("agent: stopping container " + kill.name + " of pod " + uid + ": " +
            stopped.error().message);
    co_return;
  }
  ++stats_.containers_killed;
}

asio::awaitable<void> Agent::writeStatus(json pod, json status) {
  json next = pod;
  next["status"] = std::move(status);
  auto reply = co_await client_.call("PUT", podPath(pod) + "/status", next.dump());
  if (reply && reply->ok()) {
    ++stats_.status_writes;
    co_return;
  }
  if (reply && reply->status == 409) {
    ++stats_.status_conflicts;  // the watch brings the newer pod; decided again then
    co_return;
  }
  logWarn("agent: writing the status of pod " + podKey(pod) + ": " +
          (reply ? reply->message() : reply.error().message));
}

asio::awaitable<void> Agent::finalDelete(json pod) {
  json options = {{"apiVersion", "v1"},
                  {"kind", "DeleteOptions"},
                  {"gracePeriodSeconds", 0},
                  {"preconditions", {{"uid", str(pod, "/metadata/uid")}}}};
  auto reply = co_await client_.call("DELETE", podPath(pod), options.dump());
  if (reply && (reply->ok() || reply->status == 404 || reply->status == 409)) {
    ++stats_.pods_deleted;
    co_return;
  }
  logWarn("agent: deleting pod " + podKey(pod) + ": " +
          (reply ? reply->message() : reply.error().message));
}

std::optional<nodeapi::ContainerRef> Agent::lookup(const std::string& ns, const std::string& pod,
                                                   const std::string& container) const {
  auto uid = uid_of_.find(ns + "/" + pod);
  if (uid == uid_of_.end()) {
    return std::nullopt;
  }
  auto state = runtime_.container(uid->second, container);
  if (!state) {
    return std::nullopt;
  }
  nodeapi::ContainerRef ref;
  ref.pod_uid = uid->second;
  ref.container = container;
  ref.running = state->running;
  ref.pid = state->pid;
  int max_files = 5;
  ref.log_files = attemptLogs(runtime_.logPath(uid->second, container, state->attempt), max_files);
  if (state->attempt > 0) {
    ref.previous_log_files =
        attemptLogs(runtime_.logPath(uid->second, container, state->attempt - 1), max_files);
  }
  return ref;
}

}  // namespace rampart::agent::node

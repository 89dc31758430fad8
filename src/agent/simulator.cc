#include "agent/simulator.h"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"

namespace rampart::agent {
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

constexpr const char* kLeases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
constexpr Duration kWatchWait = std::chrono::milliseconds(500);
constexpr int kRegisterAttempts = 5;

std::string podPath(const json& pod) {
  return "/api/v1/namespaces/" + pod.value("/metadata/namespace"_json_pointer, std::string()) +
         "/pods/" + pod.value("/metadata/name"_json_pointer, std::string());
}

std::string describe(const kube::Reply& reply) {
  return std::to_string(reply.status) + " " + reply.message();
}

}  // namespace

Simulator::Simulator(asio::any_io_executor executor, kube::Client& client, const Clock& clock,
                     WallClock wall_clock, SimulatorOptions options)
    : executor_(executor),
      client_(client),
      clock_(clock),
      wall_clock_(std::move(wall_clock)),
      options_(std::move(options)),
      ips_(options_.nodes),
      lease_busy_(static_cast<size_t>(options_.nodes), false),
      work_ready_(executor),
      lease_timer_(executor),
      finished_(executor) {
  for (int i = 0; i < options_.nodes; ++i) {
    node_index_[nodeName(options_.spec, i)] = i;
  }
  // These timers never expire: waiters are woken by cancel(), which leaves the expiry as it is.
  // (Setting an expiry would cancel every other waiter, and idle workers would wake each other
  // in a loop.)
  work_ready_.expires_at(asio::steady_timer::time_point::max());
  finished_.expires_at(asio::steady_timer::time_point::max());
}

Simulator::~Simulator() { stop(); }

void Simulator::stop() {
  stopping_ = true;
  lease_timer_.cancel();
  work_ready_.cancel();
  if (stream_) {
    stream_->cancel();
  }
}

void Simulator::wakeWorkers() { work_ready_.cancel(); }

void Simulator::failed(FailureLog& entry, const std::string& message) {
  ++entry.failures;
  if (!entry.failing) {
    entry.failing = true;
    log::get("agent")->warn("{} failing: {}", entry.what, message);
  }
}

void Simulator::succeeded(FailureLog& entry) {
  if (entry.failing) {
    entry.failing = false;
    log::get("agent")->info("{} succeed again failures={}", entry.what, entry.failures);
    entry.failures = 0;
  }
}

asio::awaitable<void> Simulator::sleepFor(Duration d) {
  // In short steps, so stop() is seen within 50 ms.
  asio::steady_timer timer(executor_);
  auto until = clock_.now() + d;
  while (!stopping_ && clock_.now() < until) {
    timer.expires_after(std::min<Duration>(until - clock_.now(), std::chrono::milliseconds(50)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// --- registration -------------------------------------------------------------------------

asio::awaitable<Result<void>> Simulator::registerNode(int index) {
  json node = makeNode(options_.spec, index, wall_clock_());
  std::string name = nodeName(options_.spec, index);
  auto created = co_await client_.call("POST", "/api/v1/nodes", node.dump());
  if (!created) {
    co_return fail(created.error().code, "node ", name, ": ", created.error().message);
  }
  if (created->status == 409) {
    // Registered before (an agent restart): our labels and a Ready status again, as the kubelet
    // does on start. Merge patches: the server retries them on a lost race.
    json labels = {{"metadata", {{"labels", node["metadata"]["labels"]}}}};
    auto relabelled = co_await client_.call("PATCH", "/api/v1/nodes/" + name, labels.dump(),
                                            "application/merge-patch+json");
    if (!relabelled || !relabelled->ok()) {
      co_return fail(ErrorCode::Unavailable, "node ", name, ": relabel: ",
                     relabelled ? describe(*relabelled) : relabelled.error().message);
    }
    json status = {{"status", node["status"]}};
    auto readied = co_await client_.call("PATCH", "/api/v1/nodes/" + name + "/status",
                                         status.dump(), "application/merge-patch+json");
    if (!readied || !readied->ok()) {
      co_return fail(ErrorCode::Unavailable, "node ", name,
                     ": status: ", readied ? describe(*readied) : readied.error().message);
    }
  } else if (!created->ok()) {
    // 429 and 5xx may pass; any other refusal (422 invalid, 403) will not.
    bool transient = created->status == 429 || created->status >= 500;
    co_return fail(transient ? ErrorCode::Unavailable : ErrorCode::InvalidArgument, "node ", name,
                   ": ", describe(*created));
  }
  auto lease = co_await renewLease(index);
  if (!lease) {
    co_return fail(lease.error());
  }
  ++stats_.nodes_registered;
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Simulator::registerNodes() {
  struct Shared {
    explicit Shared(asio::any_io_executor e) : done(e) {}
    int next = 0;
    int active = 0;
    std::optional<Error> error;
    asio::steady_timer done;
  };
  auto shared = std::make_shared<Shared>(executor_);
  shared->done.expires_at(asio::steady_timer::time_point::max());
  int workers = std::max(1, std::min(options_.max_in_flight, options_.nodes));
  for (int w = 0; w < workers; ++w) {
    ++shared->active;
    auto one = [this, shared]() -> asio::awaitable<void> {
      while (!shared->error && !stopping_ && shared->next < options_.nodes) {
        int index = shared->next++;
        auto registered = co_await registerNode(index);
        // A busy or restarting server: the node is tried again, up to kRegisterAttempts times
        // with retry_delay between (a refusal such as 422 ends the registration at once).
        for (int attempt = 1; !registered && attempt < kRegisterAttempts && !stopping_ &&
                              registered.error().code != ErrorCode::InvalidArgument;
             ++attempt) {
          co_await sleepFor(options_.retry_delay * attempt);
          registered = co_await registerNode(index);
        }
        if (!registered && !shared->error) {
          shared->error = registered.error();
        }
      }
      if (--shared->active == 0) {
        shared->done.cancel();
      }
    };
    asio::co_spawn(executor_, std::move(one), asio::detached);
  }
  while (shared->active > 0) {
    co_await shared->done.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (shared->error) {
    co_return fail(*shared->error);
  }
  if (stopping_) {
    co_return fail(ErrorCode::Cancelled, "stopped while registering nodes");
  }
  co_return Result<void>{};
}

// --- leases -------------------------------------------------------------------------------

asio::awaitable<Result<void>> Simulator::renewLease(int index) {
  json lease = makeLease(options_.spec, index, wall_clock_());
  std::string name = nodeName(options_.spec, index);
  // Unconditional replace: this agent is the lease's only writer, and a renewal must not wait
  // for a read first.
  auto put = co_await client_.call("PUT", std::string(kLeases) + "/" + name, lease.dump());
  if (put && put->status == 404) {
    put = co_await client_.call("POST", kLeases, lease.dump());
    if (put && put->status == 409) {
      // Created meanwhile (or our create went through and its answer was lost): renew it.
      put = co_await client_.call("PUT", std::string(kLeases) + "/" + name, lease.dump());
    }
  }
  if (!put) {
    co_return fail(put.error().code, "lease ", name, ": ", put.error().message);
  }
  if (!put->ok()) {
    co_return fail(ErrorCode::Unavailable, "lease ", name, ": ", describe(*put));
  }
  co_return Result<void>{};
}

asio::awaitable<void> Simulator::leaseLoop() {
  LeaseSchedule schedule(options_.nodes, options_.renew_interval, clock_.now());
  while (!stopping_) {
    for (int i : schedule.due(clock_.now())) {
      if (lease_busy_[static_cast<size_t>(i)]) {
        ++stats_.lease_slots_missed;
        continue;
      }
      lease_busy_[static_cast<size_t>(i)] = true;
      lease_queue_.push_back(i);
    }
    if (!lease_queue_.empty()) {
      wakeWorkers();
    }
    lease_timer_.expires_at(schedule.nextDue());
    co_await lease_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// --- pods ---------------------------------------------------------------------------------

void Simulator::observe(const json& pod) {
  std::string node = pod.value("/spec/nodeName"_json_pointer, std::string());
  auto at = node_index_.find(node);
  if (at == node_index_.end()) {
    return;
  }
  std::string key = podKey(pod);
  known_[key] = at->second;
  auto ip = ips_.assign(key, at->second, pod.value("/status/podIP"_json_pointer, std::string()));
  PodPlacement placement{nodeInternalIp(at->second), ip.value_or("")};
  auto action = decidePod(pod, placement, wall_clock_());
  if (action.kind == PodAction::Kind::None) {
    pod_pending_.erase(key);
    return;
  }
  if (action.kind == PodAction::Kind::SetStatus && !ip) {
    log::get("agent")->warn("no free pod address on node {} for pod {}", node, key);
    return;
  }
  pod_pending_[key] = pod;
  enqueuePod(key);
}

void Simulator::forget(const std::string& key) {
  known_.erase(key);
  ips_.release(key);
  pod_pending_.erase(key);
}

void Simulator::enqueuePod(const std::string& key) {
  if (pod_busy_.insert(key).second) {
    pod_queue_.push_back(key);
    wakeWorkers();
  }
}

asio::awaitable<Result<std::string>> Simulator::listPods() {
  ++stats_.relists;
  std::vector<json> items;
  std::string token;
  std::string revision;
  do {
    std::string target = "/api/v1/pods?limit=500";
    if (!token.empty()) {
      target += "&continue=" + token;
    }
    auto page = co_await client_.call("GET", target);
    if (!page) {
      co_return fail(page.error());
    }
    if (!page->ok()) {
      co_return fail(page->status == 410 ? ErrorCode::OutOfRange : ErrorCode::Unavailable,
                     "list pods: ", describe(*page));
    }
    for (auto& pod : page->body["items"]) {
      items.push_back(std::move(pod));
    }
    token = page->body.value("/metadata/continue"_json_pointer, std::string());
    revision = page->body.value("/metadata/resourceVersion"_json_pointer, std::string());
  } while (!token.empty() && !stopping_);
  // Pods of ours that went while no watch was open are forgotten first, so that their
  // addresses are free before the listed pods are placed.
  std::set<std::string> listed;
  for (const auto& pod : items) {
    listed.insert(podKey(pod));
  }
  std::vector<std::string> gone;
  for (const auto& [key, node] : known_) {
    if (!listed.count(key)) {
      gone.push_back(key);
    }
  }
  for (const auto& key : gone) {
    forget(key);
  }
  for (const auto& pod : items) {
    observe(pod);
  }
  co_return revision;
}

asio::awaitable<void> Simulator::podLoop() {
  std::string revision;
  while (!stopping_) {
    if (revision.empty()) {
      auto listed = co_await listPods();
      if (!listed) {
        log::get("agent")->warn("cannot list pods: {}", listed.error().message);
        co_await sleepFor(options_.retry_delay);
        continue;
      }
      revision = *listed;
    }
    auto stream =
        co_await client_.watch("/api/v1/pods?allowWatchBookmarks=true&resourceVersion=" + revision);
    if (!stream) {
      log::get("agent")->warn("cannot watch pods: {}", stream.error().message);
      if (stream.error().code == ErrorCode::OutOfRange) {
        revision.clear();
      }
      co_await sleepFor(options_.retry_delay);
      continue;
    }
    stream_ = std::move(*stream);
    if (stopping_) {
      stream_->cancel();
    }
    while (!stopping_) {
      auto event = co_await stream_->next(kWatchWait);
      if (!event) {
        break;  // the stream ended: watch again from the last revision seen
      }
      if (!*event) {
        continue;
      }
      const json& e = **event;
      std::string type = e.value("type", "");
      const json& object = e["object"];
      if (type == "ERROR") {
        // 410 Expired: what we saw is compacted away; anything else: start over too.
        revision.clear();
        break;
      }
      if (auto rv = object.value("/metadata/resourceVersion"_json_pointer, std::string());
          !rv.empty()) {
        revision = rv;
      }
      if (type == "ADDED" || type == "MODIFIED") {
        observe(object);
      } else if (type == "DELETED") {
        forget(podKey(object));
      }
    }
    stream_.reset();
    if (!stopping_) {
      ++stats_.watch_restarts;
    }
  }
}

asio::awaitable<void> Simulator::writePod(std::string key, json pod) {
  auto at = known_.find(key);
  if (at == known_.end()) {
    co_return;  // deleted meanwhile
  }
  int node = at->second;
  auto ip = ips_.assign(key, node, pod.value("/status/podIP"_json_pointer, std::string()));
  auto action = decidePod(pod, PodPlacement{nodeInternalIp(node), ip.value_or("")}, wall_clock_());
  Result<kube::Reply> reply = kube::Reply{};
  if (action.kind == PodAction::Kind::SetStatus) {
    json next = pod;
    next["status"] = std::move(action.status);
    reply = co_await client_.call("PUT", podPath(pod) + "/status", next.dump());
    if (reply && reply->ok()) {
      ++stats_.pods_started;
    }
  } else if (action.kind == PodAction::Kind::FinalDelete) {
    json options = {{"apiVersion", "v1"},
                    {"kind", "DeleteOptions"},
                    {"gracePeriodSeconds", 0},
                    {"preconditions", {{"uid", pod.value("/metadata/uid"_json_pointer, "")}}}};
    reply = co_await client_.call("DELETE", podPath(pod), options.dump());
    if (reply && reply->ok()) {
      ++stats_.pods_deleted;
    }
  } else {
    co_return;
  }
  if (reply && (reply->ok() || reply->status == 404)) {
    succeeded(pod_log_);
    co_return;
  }
  if (reply && reply->status == 409) {
    ++stats_.pod_write_conflicts;  // a newer pod exists; the watch brings it
    co_return;
  }
  ++stats_.pod_write_failures;
  failed(pod_log_, "pod " + key + ": " + (reply ? describe(*reply) : reply.error().message));
  co_await sleepFor(options_.retry_delay);
  if (!pod_pending_.count(key) && known_.count(key)) {
    pod_pending_[key] = std::move(pod);  // nothing newer came: try this one again
  }
}

asio::awaitable<Result<void>> Simulator::renewQueuedLease() {
  int index = lease_queue_.front();
  lease_queue_.pop_front();
  auto renewed = co_await renewLease(index);
  lease_busy_[static_cast<size_t>(index)] = false;
  if (renewed) {
    ++stats_.leases_renewed;
    succeeded(lease_log_);
  } else {
    ++stats_.lease_failures;
    failed(lease_log_, renewed.error().message);
  }
  co_return renewed;
}

asio::awaitable<void> Simulator::writeQueuedPod() {
  std::string key = std::move(pod_queue_.front());
  pod_queue_.pop_front();
  auto pending = pod_pending_.find(key);
  if (pending != pod_pending_.end()) {
    json pod = std::move(pending->second);
    pod_pending_.erase(pending);
    co_await writePod(key, std::move(pod));
  }
  pod_busy_.erase(key);
  if (pod_pending_.count(key)) {
    enqueuePod(key);  // a newer object came while this one was written
  }
}

asio::awaitable<void> Simulator::worker(bool leases_first) {
  while (!stopping_) {
    bool lease = !lease_queue_.empty() && (leases_first || pod_queue_.empty());
    if (lease) {
      co_await renewQueuedLease();
    } else if (!pod_queue_.empty()) {
      co_await writeQueuedPod();
    } else {
      co_await work_ready_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

asio::awaitable<void> Simulator::tracked(asio::awaitable<void> body) {
  co_await std::move(body);
  if (--running_ == 0) {
    finished_.cancel();
  }
}

asio::awaitable<void> Simulator::run() {
  running_ = 2 + options_.max_in_flight;
  asio::co_spawn(executor_, tracked(leaseLoop()), asio::detached);
  asio::co_spawn(executor_, tracked(podLoop()), asio::detached);
  // Half the workers (rounded up) take lease renewals first, the others pod writes first: a
  // lease load that fills every worker cannot starve pods, nor a burst of pods the leases.
  for (int w = 0; w < options_.max_in_flight; ++w) {
    bool leases_first = w < (options_.max_in_flight + 1) / 2;
    asio::co_spawn(executor_, tracked(worker(leases_first)), asio::detached);
  }
  while (running_ > 0) {
    co_await finished_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace rampart::agent

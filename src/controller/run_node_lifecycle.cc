// The node lifecycle controller and the taint manager over node_lifecycle.h and taints.h.
// A dead node sends no event, so every node is decided again each period() (a tenth of the
// grace, 50 ms..1 s): a node silent for the grace is marked Ready Unknown and tainted at most
// grace + period after its last sign of life. Each decision reads the node, its Lease
// (kube-node-lease/<node>) and the pods bound to it from the informers; the node's own probe
// (when this controller last saw its Lease or heartbeat change, on our monotonic clock) lives
// here and is forgotten on reset(), so a new leader starts every node's grace afresh.
// Evictions wait while many nodes are down at once (mass_disruption.h).
// Writes carry the resourceVersion they were decided on (merge patch with
// metadata.resourceVersion): a node or pod changed meanwhile loses with 409 and is decided again.

#include <map>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "controller/mass_disruption.h"
#include "controller/node_lifecycle.h"
#include "controller/reconcilers.h"
#include "controller/taints.h"
#include "controller/writes.h"
#include "kube/resources.h"

namespace rampart::controller {
namespace {
using json = nlohmann::json;
namespace asio = boost::asio;
namespace res = kube::resources;

constexpr const char* kNodeLeaseNamespace = "kube-node-lease";

std::string nodeOf(const json& pod) {
  return pod.value("/spec/nodeName"_json_pointer, std::string());
}

class NodeLifecycleReconciler : public Reconciler {
 public:
  NodeLifecycleReconciler(ControllerContext& context, Enqueue enqueue,
                          const ReconcilerOptions& options)
      : ctx_(context),
        enqueue_(std::move(enqueue)),
        options_(options),
        nodes_(context.informer(res::kNodes)),
        leases_(context.informer(res::kLeases)),
        pods_(context.informer(res::kPods)) {
    // pods by node, so a decision reads its node's pods, not every pod in the cluster
    pods_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      if (before) {
        if (auto it = by_node_.find(nodeOf(*before)); it != by_node_.end()) {
          it->second.erase(kube::keyOf(*before));
        }
      }
      if (after && !nodeOf(*after).empty()) {
        by_node_[nodeOf(*after)].insert(kube::keyOf(*after));
      }
    });
    nodes_.addHandler([this](kube::Informer::Change, const json* before, const json* after) {
      if (!after) {
        probes_.erase(before->value("/metadata/name"_json_pointer, std::string()));
      }
    });
  }

  std::vector<std::string> keys() const override {
    std::vector<std::string> keys;
    keys.reserve(nodes_.items().size());
    for (const auto& [key, node] : nodes_.items()) {
      keys.push_back(key);
    }
    return keys;
  }

  std::optional<Duration> period() const override {
    return std::clamp<Duration>(options_.node_lifecycle.grace / 10, std::chrono::milliseconds(50),
                                std::chrono::seconds(1));
  }

  void reset() override {
    probes_.clear();
    view_ = ViewFreshness{};
  }

  // Nodes by zone, and how many of them are going quiet: no sign of life for half the grace (a
  // node not yet observed counts as alive: its grace has not started). Half, not the whole
  // grace, because nodes that die together do not all reach their grace together: renewals
  // are staggered by up to a renew interval, and judging the first one while the others are a
  // few hundred ms short of theirs would take it for a lone failure and evict its pods when
  // the whole cluster is going quiet. A healthy node renews every 200 ms (grace 1 s), so half
  // the grace is never reached by one that lives; counting more as down only holds evictions.
  std::map<std::string, ZoneHealth> zoneHealth(TimePoint now) const {
    std::map<std::string, ZoneHealth> zones;
    for (const auto& [key, node] : nodes_.items()) {
      std::string zone =
          node.value("/metadata/labels/topology.kubernetes.io~1zone"_json_pointer, std::string());
      ZoneHealth& health = zones[zone];
      ++health.nodes;
      auto probe = probes_.find(node.value("/metadata/name"_json_pointer, std::string()));
      if (probe != probes_.end() && probe->second.seen &&
          now - probe->second.last_change > options_.node_lifecycle.grace / 2) {
        ++health.down;
      }
    }
    return zones;
  }

  asio::awaitable<Result<void>> reconcile(std::string key) override {
    const json* found = nodes_.get(key);
    if (!found) {
      co_return ok();
    }
    json node = *found;
    std::string name = node.value("/metadata/name"_json_pointer, std::string());
    TimePoint now = ctx_.clock.now();
    auto view = observeView(view_, leases_.heard(), now, options_.node_lifecycle.grace / 2);
    if (!view.fresh) {
      if (!blind_logged_) {
        blind_logged_ = true;
        log::get("controller")->warn(
            "node lifecycle: no word from the API about Leases for {} ms: holding every node "
            "decision until the watch is back",
            std::chrono::duration_cast<std::chrono::milliseconds>(now - view_.heard_at).count());
      }
      co_return ok();
    }
    if (view.regained) {
      blind_logged_ = false;
      for (auto& [node_name, p] : probes_) {
        // The time this controller could not see does not count against the node.
        p.last_change = std::min(now, p.last_change + view.blind_for);
      }
      log::get("controller")->info(
          "node lifecycle: the Lease watch is back after {} ms of silence beyond the window; "
          "every node's grace is extended by that",
          std::chrono::duration_cast<std::chrono::milliseconds>(view.blind_for).count());
    }
    const json* lease = leases_.get(kube::makeKey(kNodeLeaseNamespace, name));
    NodeProbe& probe = probes_[name];
    observeNode(probe, node, lease ? *lease : json(nullptr), now);

    std::vector<json> pods;
    if (auto it = by_node_.find(name); it != by_node_.end()) {
      for (const auto& pod_key : it->second) {
        if (const json* pod = pods_.get(pod_key)) {
          pods.push_back(*pod);
        }
      }
    }
    NodeLifecycleDecision d = decideNodeLifecycle(node, probe, now, ctx_.wall(),
                                                  options_.node_lifecycle, pods);
    for (const auto& e : d.events) {
      ctx_.recorder.event(refOf(node, "Node", "v1"), e.type, e.reason, e.message);
    }
    std::string rv = node.value("/metadata/resourceVersion"_json_pointer, std::string());
    if (!d.conditions.is_null()) {
      json patch = {{"metadata", {{"resourceVersion", rv}}},
                    {"status", {{"conditions", d.conditions}}}};
      auto reply = co_await ctx_.client.call("PATCH", res::kNodes.object("", name, "status"),
                                             patch.dump(), kMergePatch);
      if (!reply || !reply->ok()) {
        co_return fail(ErrorCode::FailedPrecondition, "node ", name, " status: ",
                       reply ? reply->message() : reply.error().message);
      }
      log::get("node-lifecycle")->info("node={} {}", name, d.reason);
      // The taints are written over what this write answered (its new resourceVersion).
      rv = reply->body.value("/metadata/resourceVersion"_json_pointer, std::string());
    }
    if (!d.taints.is_null()) {
      json patch = {{"metadata", {{"resourceVersion", rv}}}, {"spec", {{"taints", d.taints}}}};
      auto reply = co_await ctx_.client.call("PATCH", res::kNodes.object("", name), patch.dump(),
                                             kMergePatch);
      if (!reply || !reply->ok()) {
        co_return fail(ErrorCode::FailedPrecondition, "node ", name, " taints: ",
                       reply ? reply->message() : reply.error().message);
      }
      node["spec"]["taints"] = d.taints;
    }
    for (const auto& pod_key : d.pods_not_ready) {
      if (const json* pod = pods_.get(pod_key)) {
        co_await markNotReady(*pod);
      }
    }
    TaintEvictionDecision evictions =
        decideTaintEvictions(node, pods, ctx_.wall(), d.fenced, options_.taint_manager);
    if (!evictions.evict.empty()) {
      DisruptionVerdict verdict = decideMassDisruption(zoneHealth(now));
      if (verdict.evictions_allowed != evictions_allowed_) {
        evictions_allowed_ = verdict.evictions_allowed;
        auto logger = log::get("node-lifecycle");
        if (verdict.evictions_allowed) {
          logger->info("evictions resume: {}", verdict.reason);
        } else {
          logger->warn("mass disruption: {}", verdict.reason);
        }
      }
      if (!verdict.evictions_allowed) {
        co_return ok();
      }
    }
    for (const auto& eviction : evictions.evict) {
      if (const json* pod = pods_.get(eviction.pod)) {
        co_await evict(*pod, eviction);
      }
    }
    // A fenced node's pods are dead (its agent, or the pods' own shims, stopped them by the
    // fence: runtime/fence.h), but no agent is there to finish their deletion: their objects
    // are removed here, so that a pod with a stable name (a StatefulSet's) can be made again
    // elsewhere — the name is its lock, and only now may it be released.
    if (d.fenced) {
      std::vector<json> leftovers;
      for (const auto& pod : pods) {
        if (pod.contains("/metadata/deletionTimestamp"_json_pointer)) {
          leftovers.push_back(pod);
        }
      }
      if (!leftovers.empty() && decideMassDisruption(zoneHealth(now)).evictions_allowed) {
        for (const auto& pod : leftovers) {
          co_await forceDelete(pod, name);
        }
      }
    }
    co_return ok();
  }

 private:
  // The pod's Ready condition False (endpoints drop it at once), with the CAS of what we read.
  asio::awaitable<void> markNotReady(const json& pod) {
    json conditions = pod.value("/status/conditions"_json_pointer, json::array());
    bool changed = false;
    for (auto& c : conditions) {
      if (c.is_object() && c.value("type", "") == "Ready" && c.value("status", "") != "False") {
        c["status"] = "False";
        c["lastTransitionTime"] = api::formatRfc3339(ctx_.wall());
        changed = true;
      }
    }
    if (!changed) {
      co_return;
    }
    auto [ns, name] = kube::splitKey(kube::keyOf(pod));
    json patch = {
        {"metadata",
         {{"resourceVersion", pod.value("/metadata/resourceVersion"_json_pointer, "")}}},
        {"status", {{"conditions", conditions}}}};
    co_await ctx_.client.call("PATCH", res::kPods.object(ns, name, "status"), patch.dump(),
                              kMergePatch);
  }

  // Kubernetes 1.32's order: the DisruptionTarget condition, then the delete, then the event.
  asio::awaitable<void> evict(const json& pod, const PodEviction& eviction) {
    auto [ns, name] = kube::splitKey(eviction.pod);
    json conditions = pod.value("/status/conditions"_json_pointer, json::array());
    json kept = json::array();
    for (const auto& c : conditions) {
      if (!(c.is_object() && c.value("type", "") == "DisruptionTarget")) {
        kept.push_back(c);
      }
    }
    kept.push_back(eviction.condition);
    json patch = {{"status", {{"conditions", kept}}}};
    co_await ctx_.client.call("PATCH", res::kPods.object(ns, name, "status"), patch.dump(),
                              kMergePatch);
    json options = {{"kind", "DeleteOptions"},
                    {"apiVersion", "v1"},
                    {"preconditions",
                     {{"uid", pod.value("/metadata/uid"_json_pointer, std::string())}}}};
    auto reply = co_await ctx_.client.call("DELETE", res::kPods.object(ns, name), options.dump());
    if (reply && reply->ok()) {
      ctx_.recorder.event(refOf(pod, "Pod", "v1"), eviction.event.type, eviction.event.reason,
                          eviction.event.message);
      log::get("node-lifecycle")->info("evicted pod={} {}", eviction.pod, eviction.reason);
    }
  }

  asio::awaitable<void> forceDelete(const json& pod, const std::string& node) {
    std::string ns = pod.value("/metadata/namespace"_json_pointer, std::string());
    std::string name = pod.value("/metadata/name"_json_pointer, std::string());
    json options = {{"kind", "DeleteOptions"},
                    {"apiVersion", "v1"},
                    {"gracePeriodSeconds", 0},
                    {"preconditions",
                     {{"uid", pod.value("/metadata/uid"_json_pointer, std::string())}}}};
    auto reply = co_await ctx_.client.call("DELETE", res::kPods.object(ns, name), options.dump());
    if (reply && reply->ok()) {
      log::get("node-lifecycle")->info("deleted pod={}/{} of fenced node={}", ns, name, node);
    }
  }

  ControllerContext& ctx_;
  Enqueue enqueue_;
  ReconcilerOptions options_;
  kube::Informer& nodes_;
  kube::Informer& leases_;
  kube::Informer& pods_;
  std::unordered_map<std::string, NodeProbe> probes_;
  ViewFreshness view_;
  bool blind_logged_ = false;
  bool evictions_allowed_ = true;  // the last mass-disruption verdict, logged on change
  std::unordered_map<std::string, std::unordered_set<std::string>> by_node_;
};

}  // namespace

std::unique_ptr<Reconciler> makeNodeLifecycleReconciler(ControllerContext& context,
                                                        Enqueue enqueue,
                                                        const ReconcilerOptions& options) {
  return std::make_unique<NodeLifecycleReconciler>(context, std::move(enqueue), options);
}

}  // namespace rampart::controller
